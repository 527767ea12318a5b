using Berth.Scheduler.Kernel;

namespace Berth.Scheduler.CapacityProviders;

/// <summary>
/// What a RunTask or a service launches with: a launch type, or a capacity provider strategy (the request's, or the
/// cluster's default when the request names neither, as ECS does). <see cref="LaunchType"/> is the launch type the
/// tasks get either way: FARGATE for a strategy of the Fargate providers, EC2 for one of host-group providers.
/// </summary>
internal sealed record LaunchChoice(string LaunchType, IReadOnlyList<StrategyItem> Strategy)
{
    /// <summary>
    /// Checks what needs no cluster: a launch type and a strategy are exclusive (ECS's words), the launch type's spelling
    /// and the strategy's own rules (<see cref="Ecs.Check(IReadOnlyList{StrategyItem})"/>, PutClusterCapacityProviders').
    /// </summary>
    public static void Check(string launchType, IReadOnlyList<StrategyItem> strategy)
    {
        if (launchType.Length > 0 && strategy.Count > 0)
        {
            throw Ecs.InvalidParameter("Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again.");
        }

        if (launchType.Length > 0 && launchType is not ("EC2" or "FARGATE"))
        {
            throw StateException.Invalid("launch_type must be EC2 or FARGATE.");
        }

        Ecs.Check(strategy);
    }

    /// <summary>
    /// Under the cluster's lock, after <see cref="Check"/>: the launch type given; else the strategy given, or the
    /// cluster's default strategy, which must name only providers associated with the cluster; else EC2.
    /// </summary>
    public static LaunchChoice Resolve(ClusterState state, string launchType, IReadOnlyList<StrategyItem> strategy)
    {
        if (launchType.Length > 0)
        {
            return new(launchType, []);
        }

        var record = state.Record!;
        var chosen = strategy.Count > 0 ? strategy : record.DefaultStrategy;
        if (chosen.Count == 0)
        {
            return new("EC2", []);
        }

        Ecs.CheckForCluster(chosen, record.CapacityProviders);
        return new(Ecs.FargateProviders.Contains(chosen[0].Provider) ? "FARGATE" : "EC2", chosen);
    }
}
