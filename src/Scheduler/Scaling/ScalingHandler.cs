using Berth.Scheduler.Kernel;

namespace Berth.Scheduler.Scaling;

/// <summary>
/// Application Auto Scaling's calls on the kernel's scalable target records: validate, then change them through the
/// cluster's commit path. A refused call changes nothing (everything is checked before anything is changed).
/// </summary>
internal sealed class ScalingHandler(StateKernel kernel)
{
    /// <summary>Registers a target (min and max required) or updates one (what is not given stays).</summary>
    public Task<string> RegisterAsync(string cluster, string service, int? min, int? max, SuspendedFlags? suspended) =>
        Commit(cluster, registering: true, tx =>
        {
            var record = ServiceOf(tx.Cluster, cluster, service);
            tx.Cluster.ScalableTargets.TryGetValue(service, out var existing);
            if (existing is null && (min is null || max is null))
            {
                throw Aas.Validation(min is null ? "min_capacity" : "max_capacity", "is required when registering a new scalable target.");
            }

            var current = existing?.Scaling.Target ?? new ScalableTarget(0, 0);
            var target = current with
            {
                MinCapacity = min ?? current.MinCapacity,
                MaxCapacity = max ?? current.MaxCapacity,
                DynamicScalingInSuspended = suspended?.DynamicIn ?? current.DynamicScalingInSuspended,
                DynamicScalingOutSuspended = suspended?.DynamicOut ?? current.DynamicScalingOutSuspended,
                ScheduledScalingSuspended = suspended?.Scheduled ?? current.ScheduledScalingSuspended,
            };
            Validate(target.Validate);
            if (target.MaxCapacity > 10_000)
            {
                throw Aas.Validation("max_capacity", "must be at most 10000 (a service's largest desired count).");
            }

            if (existing is null)
            {
                existing = new ScalableTargetRecord { Cluster = cluster, ServiceName = record.Name, Scaling = new ServiceScaling(target, tx.Now) };
                tx.PutScalableTarget(existing);
            }
            else
            {
                existing.Scaling.Target = target;
                tx.Save(existing);
            }

            return Aas.TargetArn(cluster, service);
        });

    /// <summary>Deregisters a target with its policies and scheduled actions; the service keeps its desired count.</summary>
    public Task DeregisterAsync(string cluster, string service) =>
        Commit(cluster, registering: false, tx =>
        {
            Target(tx.Cluster, cluster, service);
            tx.RemoveScalableTarget(service);
            return 0;
        });

    /// <summary>Creates or replaces a policy of a registered target; returns its ARN and alarm names.</summary>
    public Task<(string Arn, IReadOnlyList<string> Alarms)> PutPolicyAsync(string cluster, string service, ScalingPolicy policy)
    {
        Aas.CheckName("policy_name", policy.Name);
        switch (policy)
        {
            case TargetTrackingPolicy tracking:
                Validate(tracking.Validate);
                break;
            case StepScalingPolicy step:
                Validate(step.Validate);
                break;
        }

        return Commit(cluster, registering: false, tx =>
        {
            var target = Target(tx.Cluster, cluster, service);
            if (!target.Scaling.Policies.ContainsKey(policy.Name) && target.Scaling.Policies.Count >= Aas.MaxPolicies)
            {
                throw Aas.LimitExceeded($"a scalable target has at most {Aas.MaxPolicies} scaling policies.");
            }

            var stored = policy.Metric == ScalingMetric.RequestCountPerTarget
                ? policy with { TargetGroupArn = TargetGroupOfLabel(tx.Cluster, cluster, policy.ResourceLabel) }
                : policy;
            target.Scaling.Policies[policy.Name] = stored;
            tx.Save(target);
            return (Aas.PolicyArn(cluster, service, policy.Name), Alarms(stored));
        });
    }

    /// <summary>Deletes a policy.</summary>
    public Task DeletePolicyAsync(string cluster, string service, string name) =>
        Commit(cluster, registering: false, tx =>
        {
            var target = Target(tx.Cluster, cluster, service);
            if (!target.Scaling.Policies.Remove(name))
            {
                throw Aas.NotFound($"No scaling policy found for service namespace: ecs, resource ID: {Aas.ResourceId(cluster, service)}, scalable dimension: {Aas.Dimension}, policy name: {Aas.Printable(name)}");
            }

            target.Scaling.StepAdjustedAt.Remove(name);
            tx.Save(target);
            return 0;
        });

    /// <summary>Creates or replaces a scheduled action of a registered target.</summary>
    public Task PutScheduledActionAsync(string cluster, string service, ScheduledAction action)
    {
        Aas.CheckName("scheduled_action_name", action.Name);
        if (action.MinCapacity is null && action.MaxCapacity is null)
        {
            throw Aas.Validation("scalable_target_action", "give min_capacity, max_capacity or both.");
        }

        if (action.MinCapacity is < 0 || action.MaxCapacity is < 0 || action.MaxCapacity > 10_000)
        {
            throw Aas.Validation(action.MinCapacity is < 0 ? "min_capacity" : "max_capacity", "must be 0-10000.");
        }

        if (action.MinCapacity is { } min && action.MaxCapacity is { } max && max < min)
        {
            throw Aas.Validation("max_capacity", $"must be at least min_capacity ({min}), not {max}.");
        }

        if (action.StartTime is { } start && action.EndTime is { } end && end <= start)
        {
            throw Aas.Validation("end_time", "must be after start_time.");
        }

        return Commit(cluster, registering: false, tx =>
        {
            var target = Target(tx.Cluster, cluster, service);
            if (!target.Scaling.ScheduledActions.ContainsKey(action.Name) && target.Scaling.ScheduledActions.Count >= Aas.MaxScheduledActions)
            {
                throw Aas.LimitExceeded($"a scalable target has at most {Aas.MaxScheduledActions} scheduled actions.");
            }

            target.Scaling.ScheduledActions[action.Name] = action;
            tx.Save(target);
            return 0;
        });
    }

    /// <summary>Deletes a scheduled action.</summary>
    public Task DeleteScheduledActionAsync(string cluster, string service, string name) =>
        Commit(cluster, registering: false, tx =>
        {
            var target = Target(tx.Cluster, cluster, service);
            if (!target.Scaling.ScheduledActions.Remove(name))
            {
                throw Aas.NotFound($"No scheduled action found for service namespace: ecs, resource ID: {Aas.ResourceId(cluster, service)}, scalable dimension: {Aas.Dimension}, scheduled action name: {Aas.Printable(name)}");
            }

            tx.Save(target);
            return 0;
        });

    /// <summary>
    /// Reads the cluster's targets (or the named services' ones) under its lock: <paramref name="view"/> gets each target and
    /// its service's desired count, and must copy what it keeps.
    /// </summary>
    public List<T> Read<T>(string cluster, IReadOnlyCollection<string> services, Func<ScalableTargetRecord, int, T> view) =>
        kernel.ReadCluster(cluster, state =>
        {
            var found = new List<T>();
            if (state is null)
            {
                return found;
            }

            foreach (var target in state.ScalableTargets.Values.OrderBy(t => t.ServiceName, StringComparer.Ordinal))
            {
                if (services.Count > 0 && !services.Contains(target.ServiceName))
                {
                    continue;
                }

                var desired = state.Services.TryGetValue(target.ServiceName, out var service) ? service.DesiredCount : 0;
                found.Add(view(target, desired));
            }

            return found;
        });

    /// <summary>The alarms AAS makes for a policy (target tracking: high and low; step scaling: one).</summary>
    public static IReadOnlyList<string> Alarms(ScalingPolicy policy) => policy is TargetTrackingPolicy
        ? [$"TargetTracking-{policy.Name}-AlarmHigh", $"TargetTracking-{policy.Name}-AlarmLow"]
        : [$"StepScaling-{policy.Name}"];

    /// <summary>
    /// The target group an <c>ALBRequestCountPerTarget</c> resource label names:
    /// <c>app/&lt;load-balancer-name&gt;/&lt;id&gt;/targetgroup/&lt;target-group-name&gt;/&lt;id&gt;</c>, the ends of the
    /// load balancer's and the target group's ARNs, of a load balancer in the cluster that forwards to the group.
    /// </summary>
    private static string TargetGroupOfLabel(ClusterState state, string cluster, string label)
    {
        const string Format = "app/<load-balancer-name>/<load-balancer-id>/targetgroup/<target-group-name>/<target-group-id>";
        var at = label.IndexOf("/targetgroup/", StringComparison.Ordinal);
        if (!label.StartsWith("app/", StringComparison.Ordinal) || at < 0)
        {
            throw Aas.Validation("resource_label", $"'{Aas.Printable(label)}' is not a resource label of the form {Format}.");
        }

        var lbSuffix = ":loadbalancer/" + label[..at];
        var groupSuffix = ":" + label[(at + 1)..];
        var lbs = state.LoadBalancing;
        var lb = lbs.LoadBalancers.Keys.FirstOrDefault(arn => arn.EndsWith(lbSuffix, StringComparison.Ordinal));
        var group = lbs.TargetGroups.Keys.FirstOrDefault(arn => arn.EndsWith(groupSuffix, StringComparison.Ordinal));
        if (lb is null || group is null)
        {
            throw Aas.Validation("resource_label", $"'{Aas.Printable(label)}' names no {(lb is null ? "load balancer" : "target group")} of cluster '{Aas.Printable(cluster)}' ({Format}).");
        }

        if (!lbs.GroupsOf(lb).Contains(group))
        {
            throw Aas.Validation("resource_label", $"the load balancer of '{Aas.Printable(label)}' does not forward to its target group: the metric would stay empty.");
        }

        return group;
    }

    // An unknown cluster is AAS's error too: registering names a service that does not exist (ValidationException),
    // anything else a target that cannot exist (ObjectNotFoundException).
    private Task<T> Commit<T>(string cluster, bool registering, Func<ClusterTransaction, T> change)
    {
        if (kernel.ReadCluster(cluster, state => state?.IsActive) != true)
        {
            throw registering
                ? Aas.Validation("resource_id", $"ECS cluster doesn't exist: {Aas.Printable(cluster)}")
                : Aas.NotFound($"No scalable target registered for service namespace: ecs, cluster: {Aas.Printable(cluster)}");
        }

        return kernel.CommitAsync(cluster, change);
    }

    private static Kernel.ServiceRecord ServiceOf(ClusterState state, string cluster, string service)
    {
        if (!state.IsActive)
        {
            throw Aas.Validation("resource_id", $"cluster '{Aas.Printable(cluster)}' not found.");
        }

        // AAS answers a scalable target for a service that does not exist with ValidationException.
        if (!state.Services.TryGetValue(service, out var record) || record.Status != Statuses.Active)
        {
            throw Aas.Validation("resource_id", $"ECS service doesn't exist: {Aas.Printable(Aas.ResourceId(cluster, service))}");
        }

        if (record.IsDaemon)
        {
            throw Aas.Validation("resource_id", "a DAEMON service runs one task per instance; its desired count cannot be scaled.");
        }

        return record;
    }

    private static ScalableTargetRecord Target(ClusterState state, string cluster, string service) =>
        state.ScalableTargets.TryGetValue(service, out var target)
            ? target
            : throw Aas.NotFound($"No scalable target registered for service namespace: ecs, resource ID: {Aas.Printable(Aas.ResourceId(cluster, service))}, scalable dimension: {Aas.Dimension}");

    private static void Validate(Action validate)
    {
        try
        {
            validate();
        }
        catch (ArgumentException e)
        {
            throw new StateException(StateError.InvalidArgument, $"ValidationException: {e.Message}");
        }
    }
}

/// <summary>A SuspendedState as a register call gives it: a null flag is left as it is.</summary>
internal sealed record SuspendedFlags(bool? DynamicIn, bool? DynamicOut, bool? Scheduled);
