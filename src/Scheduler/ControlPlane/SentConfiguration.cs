using Berth.Scheduler.V1;

namespace Berth.Scheduler.ControlPlane;

/// <summary>
/// The configuration a watch stream last sent to its balancer replica, with its target groups indexed by ARN, so that
/// a commit which wrote only groups the replica already holds (a registration, a deregistration, the drainer's
/// removal: nearly every commit under churn) is diffed group by group instead of the whole configuration.
/// Owned by one stream; not thread-safe.
/// </summary>
internal sealed class SentConfiguration
{
    private Dictionary<string, int> _groups;

    public SentConfiguration(BalancerConfig config, long version)
    {
        Config = config;
        Version = version;
        _groups = Index(config);
    }

    /// <summary>What the replica holds.</summary>
    public BalancerConfig Config { get; private set; }

    /// <summary>The version the replica holds.</summary>
    public long Version { get; private set; }

    /// <summary>Whether <paramref name="arns"/> are all target groups the replica already holds (and there is one).</summary>
    public bool HoldsGroups(IReadOnlyCollection<string> arns) => arns.Count > 0 && arns.All(_groups.ContainsKey);

    /// <summary>The changes to <paramref name="config"/> (all of it), which the replica holds from now on.</summary>
    public List<ConfigChange> Replace(BalancerConfig config, long version)
    {
        var changes = LoadBalancingWire.Diff(Config, config);
        if (changes.Count > 0)
        {
            Config = config;
            _groups = Index(config);
            Version = version;
        }

        return changes;
    }

    /// <summary>
    /// The changes to <paramref name="groups"/> (groups the replica holds, as read now), which the replica holds from
    /// now on. The same diff as <see cref="Replace"/>, over these groups only.
    /// </summary>
    public List<ConfigChange> ReplaceGroups(IReadOnlyList<TargetGroupState> groups, long version)
    {
        // In the configuration's order, so the changes come in the order the whole diff gives them.
        groups = [.. groups.OrderBy(g => _groups[g.TargetGroup.TargetGroupArn])];
        var before = new BalancerConfig();
        var after = new BalancerConfig { TargetGroups = { groups } };
        foreach (var group in groups)
        {
            before.TargetGroups.Add(Config.TargetGroups[_groups[group.TargetGroup.TargetGroupArn]]);
        }

        var changes = LoadBalancingWire.Diff(before, after);
        if (changes.Count > 0)
        {
            // In place: the stream writes each message before it reads the next change, so nothing sent is in flight.
            foreach (var group in groups)
            {
                Config.TargetGroups[_groups[group.TargetGroup.TargetGroupArn]] = group;
            }

            Version = version;
        }

        return changes;
    }

    /// <summary>
    /// The changes to <paramref name="routes"/> (the task routes as read now), which the replica holds from now on: a
    /// commit that published the cluster's host addressing anew changes nothing else a balancer sees.
    /// </summary>
    public List<ConfigChange> ReplaceRoutes(IReadOnlyList<TaskRoute> routes, long version)
    {
        var changes = LoadBalancingWire.Diff(new BalancerConfig { TaskRoutes = { Config.TaskRoutes } }, new BalancerConfig { TaskRoutes = { routes } });
        if (changes.Count > 0)
        {
            // In place, as ReplaceGroups: nothing sent is in flight.
            Config.TaskRoutes.Clear();
            Config.TaskRoutes.AddRange(routes);
            Version = version;
        }

        return changes;
    }

    private static Dictionary<string, int> Index(BalancerConfig config)
    {
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < config.TargetGroups.Count; i++)
        {
            index.TryAdd(config.TargetGroups[i].TargetGroup.TargetGroupArn, i);
        }

        return index;
    }
}
