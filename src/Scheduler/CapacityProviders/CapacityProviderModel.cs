using System.Text.RegularExpressions;
using Berth.Scheduler.Kernel;

namespace Berth.Scheduler.CapacityProviders;

/// <summary>ECS's vocabulary for capacity providers: its exception names first in the message, its name and range rules.</summary>
internal static partial class Ecs
{
    /// <summary>The Fargate providers every cluster may name (reserved: no user provider may take these names).</summary>
    public static readonly IReadOnlyList<string> FargateProviders = ["FARGATE", "FARGATE_SPOT"];

    /// <summary>ECS: a capacity provider strategy may contain at most 6 capacity providers.</summary>
    public const int MaxStrategyItems = 6;

    public const int MaxBase = 100000;

    public const int MaxWeight = 1000;

    /// <summary>
    /// ECS's quota "Tasks in PROVISIONING state per cluster" (500, not adjustable): the most tasks of a cluster that wait
    /// for capacity providers to add capacity. Past it RunTask fails as a whole and a service places none until some leave.
    /// </summary>
    public const int MaxProvisioningTasks = 500;

    /// <summary>ECS's words for a launch past <see cref="MaxProvisioningTasks"/> (a ClientException from RunTask).</summary>
    public const string ProvisioningLimitExceeded = "Tasks provisioning capacity limit exceeded.";

    /// <summary>RunTask past <see cref="MaxProvisioningTasks"/>: ECS throws rather than answering failures.</summary>
    public static StateException ProvisioningLimit() => new(StateError.FailedPrecondition, $"ClientException: {ProvisioningLimitExceeded}");

    public static StateException Client(string message) => new(StateError.InvalidArgument, $"ClientException: {message}");

    public static StateException InvalidParameter(string message) => new(StateError.InvalidArgument, $"InvalidParameterException: {message}");

    public static StateException NotFound(string name) =>
        new(StateError.NotFound, $"ClientException: The specified capacity provider '{Printable(name)}' does not exist.");

    public static StateException InUse(string message) => new(StateError.FailedPrecondition, $"ResourceInUseException: {message}");

    public static string Printable(string value) => value.Length > 64 || value.Any(char.IsControl) ? "(invalid name)" : value;

    /// <summary>
    /// A provider name as CreateCapacityProvider takes it: 1-255 letters, digits, '_' and '-', and (ECS) not prefixed with
    /// "aws", "ecs" or "fargate" in any case, which keeps FARGATE and FARGATE_SPOT the platform's own.
    /// </summary>
    public static void CheckName(string name)
    {
        if (!NamePattern().IsMatch(name))
        {
            throw Client($"The capacity provider name '{Printable(name)}' is invalid: up to 255 letters, numbers, underscores (_) and hyphens (-) are allowed.");
        }

        foreach (var prefix in (string[])["aws", "ecs", "fargate"])
        {
            if (name.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            {
                throw Client($"The capacity provider name '{Printable(name)}' is invalid: it can't be prefixed with \"aws\", \"ecs\", or \"fargate\".");
            }
        }
    }

    /// <summary>Checks ECS's ranges of managed scaling.</summary>
    public static void Check(ManagedScaling scaling)
    {
        if (scaling.TargetCapacity is < 1 or > 100)
        {
            throw InvalidParameter($"managedScaling.targetCapacity {scaling.TargetCapacity} must be between 1 and 100.");
        }

        if (scaling.MinimumStep is < 1 or > 10000)
        {
            throw InvalidParameter($"managedScaling.minimumScalingStepSize {scaling.MinimumStep} must be between 1 and 10000.");
        }

        if (scaling.MaximumStep is < 1 or > 10000)
        {
            throw InvalidParameter($"managedScaling.maximumScalingStepSize {scaling.MaximumStep} must be between 1 and 10000.");
        }

        if (scaling.MaximumStep < scaling.MinimumStep)
        {
            throw InvalidParameter($"managedScaling.maximumScalingStepSize {scaling.MaximumStep} must not be less than minimumScalingStepSize {scaling.MinimumStep}.");
        }

        if (scaling.InstanceWarmup < TimeSpan.Zero || scaling.InstanceWarmup > TimeSpan.FromSeconds(10000))
        {
            throw InvalidParameter($"managedScaling.instanceWarmupPeriod {scaling.InstanceWarmup.TotalSeconds} must be between 0 and 10000.");
        }
    }

    /// <summary>
    /// ECS's rules for a capacity provider strategy on its own (which providers it may name is the caller's): at most
    /// <see cref="MaxStrategyItems"/> items, each provider once, base 0-100000 on at most one item, weight 0-1000, and
    /// at least one weight above 0 (or no task could be placed beyond the base).
    /// </summary>
    public static void Check(IReadOnlyList<StrategyItem> strategy)
    {
        if (strategy.Count > MaxStrategyItems)
        {
            throw InvalidParameter($"The capacity provider strategy can contain at most {MaxStrategyItems} capacity providers; {strategy.Count} were given.");
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var item in strategy)
        {
            if (item.Provider.Length == 0)
            {
                throw InvalidParameter("A capacity provider strategy item must name its capacityProvider.");
            }

            if (!seen.Add(item.Provider))
            {
                throw InvalidParameter($"The capacity provider strategy names '{Printable(item.Provider)}' more than once.");
            }

            if (item.Base is < 0 or > MaxBase)
            {
                throw InvalidParameter($"The base of capacity provider '{Printable(item.Provider)}' is {item.Base}; it must be between 0 and {MaxBase}.");
            }

            if (item.Weight is < 0 or > MaxWeight)
            {
                throw InvalidParameter($"The weight of capacity provider '{Printable(item.Provider)}' is {item.Weight}; it must be between 0 and {MaxWeight}.");
            }
        }

        if (strategy.Count(i => i.Base > 0) > 1)
        {
            throw InvalidParameter("Only one capacity provider in a capacity provider strategy can have a base defined.");
        }

        if (strategy.Count > 0 && strategy.All(i => i.Weight == 0))
        {
            throw InvalidParameter("At least one capacity provider in a capacity provider strategy must have a weight greater than 0.");
        }
    }

    /// <summary>
    /// ECS's rules for a strategy used on a cluster (PutClusterCapacityProviders' default, RunTask's and a service's):
    /// every provider is associated with the cluster, and Fargate providers are not mixed with host-group ones (their
    /// tasks would need two launch types).
    /// </summary>
    public static void CheckForCluster(IReadOnlyList<StrategyItem> strategy, IReadOnlyCollection<string> associated)
    {
        foreach (var item in strategy)
        {
            if (!associated.Contains(item.Provider))
            {
                throw InvalidParameter($"The specified capacity provider strategy cannot contain a capacity provider ('{Printable(item.Provider)}') that is not associated with the cluster. Associate the capacity provider with the cluster or specify a valid capacity provider and try again.");
            }
        }

        var fargate = strategy.Count(i => FargateProviders.Contains(i.Provider));
        if (fargate > 0 && fargate < strategy.Count)
        {
            throw InvalidParameter("The specified capacity provider strategy cannot contain a mix of capacity providers using Auto Scaling groups and Fargate providers. Specify one or the other and try again.");
        }
    }

    /// <summary>ENABLED / DISABLED as ECS spells them; empty gives <paramref name="current"/>.</summary>
    public static bool Switch(string value, bool current, string field) => value switch
    {
        "" => current,
        "ENABLED" => true,
        "DISABLED" => false,
        _ => throw InvalidParameter($"{field} '{Printable(value)}' must be ENABLED or DISABLED."),
    };

    public static string Spell(bool enabled) => enabled ? "ENABLED" : "DISABLED";

    [GeneratedRegex("^[A-Za-z0-9_-]{1,255}$")]
    private static partial Regex NamePattern();
}
