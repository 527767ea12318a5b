using Berth.Scheduler.Kernel;
using Berth.Scheduler.Services.Reconcile;

namespace Berth.Scheduler.LoadBalancing;

/// <summary>
/// What balancer replicas tell the scheduler: that they watch (and where clients reach them), which configuration
/// they applied, target health, and what is still in flight on draining targets. Runtime state under the cluster's
/// lock, never stored: a replica repeats everything within a report interval of reconnecting. A health change wakes
/// the service reconciler (deployments wait for healthy targets); an in-flight report wakes the drainer.
/// </summary>
internal sealed class BalancerReports(StateKernel kernel, ServiceReconciler reconciler, TargetDrainer drainer)
{
    /// <summary>
    /// The watch streams' epoch: drawn once per scheduler (versions are commit sequences of this process, which a
    /// restart does not continue), so a replica reconnecting after a restart always gets a snapshot.
    /// </summary>
    public string Epoch { get; } = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8));

    public void Connected(string lbArn, string replica, IReadOnlyList<string> addresses) => Update(lbArn, lbs =>
    {
        var presence = Presence(lbs, lbArn, replica);
        presence.Connected = true;
        presence.Addresses = addresses;
        presence.AppliedVersion = 0;
    });

    public void Disconnected(string lbArn, string replica) => Update(lbArn, lbs => Presence(lbs, lbArn, replica).Connected = false);

    public void Heard(string lbArn, string replica) => Update(lbArn, lbs => Presence(lbs, lbArn, replica));

    public void Applied(string lbArn, string replica, long version) => Update(lbArn, lbs => Presence(lbs, lbArn, replica).AppliedVersion = version);

    /// <summary>Stores a health report; a full one replaces everything this replica said about the load balancer's groups.</summary>
    public void Health(string lbArn, string replica, bool full, IReadOnlyList<(string Group, string Key, string State, string Reason, string Description)> observations)
    {
        var changed = false;
        Update(lbArn, lbs =>
        {
            Presence(lbs, lbArn, replica);
            var now = kernel.Now;
            var groups = lbs.GroupsOf(lbArn);
            if (full)
            {
                var reported = observations.Select(o => (o.Group, o.Key)).ToHashSet();
                foreach (var group in groups)
                {
                    if (lbs.Health.TryGetValue(group, out var byTarget))
                    {
                        foreach (var (key, byReplica) in byTarget)
                        {
                            if (!reported.Contains((group, key)) && byReplica.Remove(replica))
                            {
                                changed = true;
                            }
                        }
                    }
                }
            }

            foreach (var o in observations)
            {
                // Only groups this load balancer forwards to, and only targets they hold: a replica cannot fill the
                // table with names of its own.
                if (!groups.Contains(o.Group) || !lbs.TargetGroups.TryGetValue(o.Group, out var group) || !group.Targets.ContainsKey(o.Key))
                {
                    continue;
                }

                if (!lbs.Health.TryGetValue(o.Group, out var byTarget))
                {
                    lbs.Health[o.Group] = byTarget = new(StringComparer.Ordinal);
                }

                if (!byTarget.TryGetValue(o.Key, out var byReplica))
                {
                    byTarget[o.Key] = byReplica = new(StringComparer.Ordinal);
                }

                if (!byReplica.TryGetValue(replica, out var before) || before.State != o.State || before.Reason != o.Reason)
                {
                    changed = true;
                }

                byReplica[replica] = new TargetObservation(o.State, o.Reason, o.Description, now);
            }
        });

        if (changed)
        {
            reconciler.Wake();
        }
    }

    /// <summary>Stores in-flight counts on draining targets (0 and 0: this replica is done with the target).</summary>
    public void InFlight(string lbArn, string replica, IReadOnlyList<(string Group, string Key, int Count)> counts)
    {
        Update(lbArn, lbs =>
        {
            Presence(lbs, lbArn, replica);
            var groups = lbs.GroupsOf(lbArn);
            foreach (var (groupArn, key, count) in counts)
            {
                if (!groups.Contains(groupArn) || !lbs.TargetGroups.TryGetValue(groupArn, out var group)
                    || !group.Targets.TryGetValue(key, out var target) || !target.Draining)
                {
                    continue;
                }

                if (!lbs.InFlight.TryGetValue(groupArn, out var byTarget))
                {
                    lbs.InFlight[groupArn] = byTarget = new(StringComparer.Ordinal);
                }

                if (!byTarget.TryGetValue(key, out var byReplica))
                {
                    byTarget[key] = byReplica = new(StringComparer.Ordinal);
                }

                byReplica[replica] = count;
            }
        });
        drainer.Wake();
    }

    /// <summary>Adds a replica's request counts (since its previous report) to the groups' one-minute windows.</summary>
    public void RequestCounts(string lbArn, string replica, IReadOnlyList<(string Group, long Requests)> counts) => Update(lbArn, lbs =>
    {
        Presence(lbs, lbArn, replica);
        var groups = lbs.GroupsOf(lbArn);
        var now = kernel.Now;
        foreach (var (groupArn, requests) in counts)
        {
            // Only groups this load balancer forwards to: a replica cannot make up groups, nor counts below zero.
            if (requests <= 0 || !groups.Contains(groupArn))
            {
                continue;
            }

            if (!lbs.Requests.TryGetValue(groupArn, out var window))
            {
                lbs.Requests[groupArn] = window = new RequestWindow();
            }

            window.Add(now, requests);
        }
    });

    /// <summary>
    /// ELB's <c>RequestCountPerTarget</c> of a target group: its requests over the last minute divided by its targets in
    /// service (registered, not draining, and healthy, or without checks, as the balancers see it; all of its registered targets
    /// when none is); null when it has no target or the group is gone, so that a policy does nothing on no data.
    /// </summary>
    public static Scaling.MetricValue? RequestCountPerTarget(LoadBalancingState lbs, string groupArn, DateTimeOffset now)
    {
        if (!lbs.TargetGroups.TryGetValue(groupArn, out var group))
        {
            return null;
        }

        var registered = 0;
        var inService = 0;
        foreach (var target in group.Targets.Values)
        {
            if (target.Draining)
            {
                continue;
            }

            registered++;
            // The balancers' word on the target as DescribeTargetHealth and deployments read it (live replicas, worst wins).
            if (LoadBalancingHandler.TargetHealthOf(lbs, group, target, now).InService)
            {
                inService++;
            }
        }

        var targets = inService > 0 ? inService : registered;
        if (targets == 0)
        {
            return null;
        }

        var requests = lbs.Requests.TryGetValue(groupArn, out var window) ? window.Sum(now) : 0;
        return new Scaling.MetricValue((double)requests / targets, targets);
    }

    private ReplicaPresence Presence(LoadBalancingState lbs, string lbArn, string replica)
    {
        if (!lbs.Replicas.TryGetValue(lbArn, out var replicas))
        {
            lbs.Replicas[lbArn] = replicas = new(StringComparer.Ordinal);
        }

        if (!replicas.TryGetValue(replica, out var presence))
        {
            // Replicas are few per load balancer; one that keeps changing its id must not grow this without bound.
            if (replicas.Count >= 64)
            {
                var oldest = replicas.Where(r => !r.Value.Connected).OrderBy(r => r.Value.LastHeard).FirstOrDefault();
                if (oldest.Key is not null)
                {
                    replicas.Remove(oldest.Key);
                }
            }

            replicas[replica] = presence = new ReplicaPresence();
        }

        presence.LastHeard = kernel.Now;
        return presence;
    }

    private void Update(string lbArn, Action<LoadBalancingState> update)
    {
        if (kernel.ClusterOfLoadBalancing(lbArn) is { } cluster)
        {
            kernel.UpdateClusterRuntime(cluster, state =>
            {
                if (state.LoadBalancing.LoadBalancers.ContainsKey(lbArn))
                {
                    update(state.LoadBalancing);
                }
            });
        }
    }
}
