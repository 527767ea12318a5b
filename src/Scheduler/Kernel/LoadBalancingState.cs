namespace Berth.Scheduler.Kernel;

/// <summary>
/// One cluster's load balancers, listeners, rules and target groups (stored), and what balancer replicas observe
/// about them (runtime only: health and in-flight reports come again within a report interval of a reconnect).
/// Guarded by the cluster's lock.
/// </summary>
internal sealed class LoadBalancingState
{
    public Dictionary<string, LoadBalancerRecord> LoadBalancers { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, ListenerRecord> Listeners { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, RuleRecord> Rules { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, TargetGroupRecord> TargetGroups { get; } = new(StringComparer.Ordinal);

    /// <summary>Health observations by target group ARN, then target key, then replica id.</summary>
    public Dictionary<string, Dictionary<string, Dictionary<string, TargetObservation>>> Health { get; } = new(StringComparer.Ordinal);

    /// <summary>In-flight counts on draining targets by target group ARN, then target key, then replica id.</summary>
    public Dictionary<string, Dictionary<string, Dictionary<string, int>>> InFlight { get; } = new(StringComparer.Ordinal);

    /// <summary>Requests routed to each target group over the last minute, by target group ARN (all replicas together).</summary>
    public Dictionary<string, RequestWindow> Requests { get; } = new(StringComparer.Ordinal);

    /// <summary>Replicas by load balancer ARN, then replica id: when each was last heard and what it advertises.</summary>
    public Dictionary<string, Dictionary<string, ReplicaPresence>> Replicas { get; } = new(StringComparer.Ordinal);

    /// <summary>Whether any target of the cluster is draining (the drainer skips clusters without).</summary>
    public bool AnyDraining => TargetGroups.Values.Any(g => g.Targets.Values.Any(t => t.Draining));

    /// <summary>Adds or replaces a record in its index.</summary>
    internal void Put(LoadBalancingObject record)
    {
        switch (record)
        {
            case LoadBalancerRecord lb:
                LoadBalancers[lb.Arn] = lb;
                break;
            case ListenerRecord listener:
                Listeners[listener.Arn] = listener;
                break;
            case RuleRecord rule:
                Rules[rule.Arn] = rule;
                break;
            case TargetGroupRecord group:
                TargetGroups[group.Arn] = group;
                break;
        }
    }

    /// <summary>Removes a record from its index (whichever it is in).</summary>
    internal void Remove(string arn)
    {
        LoadBalancers.Remove(arn);
        Listeners.Remove(arn);
        Rules.Remove(arn);
        if (TargetGroups.Remove(arn))
        {
            Health.Remove(arn);
            InFlight.Remove(arn);
            Requests.Remove(arn);
        }
    }

    /// <summary>The target groups a load balancer's listeners and rules forward to.</summary>
    public HashSet<string> GroupsOf(string loadBalancerArn)
    {
        var groups = new HashSet<string>(StringComparer.Ordinal);
        foreach (var listener in Listeners.Values)
        {
            if (listener.LoadBalancerArn != loadBalancerArn)
            {
                continue;
            }

            groups.UnionWith(listener.DefaultAction.ForwardArns);
            foreach (var rule in Rules.Values)
            {
                if (rule.ListenerArn == listener.Arn)
                {
                    groups.UnionWith(rule.Action.ForwardArns);
                }
            }
        }

        return groups;
    }

    /// <summary>The load balancers whose listeners or rules forward to a target group.</summary>
    public List<string> LoadBalancersOf(string targetGroupArn) =>
        [.. LoadBalancers.Keys.Where(lb => GroupsOf(lb).Contains(targetGroupArn)).Order(StringComparer.Ordinal)];

    /// <summary>
    /// <see cref="LoadBalancersOf"/> for every target group in one sweep (groups no load balancer uses are absent): a
    /// pass over many targets asks it once, not once per target, which at 1,000 groups behind one load balancer cost
    /// a quarter of the scheduler's CPU under the cluster's lock (docs/benchmarks.md, "Load balancer propagation").
    /// </summary>
    public Dictionary<string, List<string>> LoadBalancersByGroup()
    {
        var byGroup = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var lb in LoadBalancers.Keys.Order(StringComparer.Ordinal))
        {
            foreach (var group in GroupsOf(lb))
            {
                if (!byGroup.TryGetValue(group, out var balancers))
                {
                    byGroup[group] = balancers = [];
                }

                balancers.Add(lb);
            }
        }

        return byGroup;
    }
}

/// <summary>One replica's view of one target: ELB's state, reason and description, and when it was reported.</summary>
internal sealed record TargetObservation(string State, string Reason, string Description, DateTimeOffset ReportedAt)
{
    /// <summary>Whether requests go to the target: healthy, or in a group without health checks.</summary>
    public bool InService => State is "healthy" or "unavailable";
}

/// <summary>A balancer replica of a load balancer: when it was last heard, whether it is connected, where it listens.</summary>
internal sealed class ReplicaPresence
{
    public DateTimeOffset LastHeard { get; set; }

    public bool Connected { get; set; }

    public IReadOnlyList<string> Addresses { get; set; } = [];

    /// <summary>The configuration version it last acknowledged applying (0 before its first ack).</summary>
    public long AppliedVersion { get; set; }
}
