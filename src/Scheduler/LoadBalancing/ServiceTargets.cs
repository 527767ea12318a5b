using Berth.Scheduler.Kernel;
using Berth.Scheduler.Services;
using Berth.Scheduler.Tasks;

namespace Berth.Scheduler.LoadBalancing;

/// <summary>
/// What a service's reconcile pass does with its target groups (ECS loadBalancers), inside the pass's transaction:
/// registers the endpoint of every task whose container runs, removes targets whose task is gone, deregisters (drains)
/// a task's targets before it is stopped, and says whether a task's targets are healthy.
/// </summary>
internal static class ServiceTargets
{
    /// <summary>The outcome of asking to stop a task of a service with target groups.</summary>
    public enum DrainOutcome
    {
        /// <summary>No target of the task is registered: stop it now.</summary>
        NotRegistered,

        /// <summary>Its targets began draining now; it is stopped when they are drained.</summary>
        BeganDraining,

        /// <summary>Its targets were draining already.</summary>
        AlreadyDraining,
    }

    /// <summary>
    /// Registers the endpoints of the service's running tasks (see <see cref="Endpoint"/>) and removes targets of its
    /// tasks that stopped without draining (died, lost). Events as ECS words them.
    /// </summary>
    public static bool Sync(ClusterTransaction tx, ServiceRecord service, ILogger logger)
    {
        if (service.LoadBalancers.IsEmpty)
        {
            return false;
        }

        var lbs = tx.Cluster.LoadBalancing;
        var changed = false;
        foreach (var link in service.LoadBalancers)
        {
            if (!lbs.TargetGroups.TryGetValue(link.TargetGroupArn, out var group))
            {
                continue;
            }

            var registered = 0;
            foreach (var task in service.Tasks)
            {
                if (task.DesiredStatus != LifecycleStatus.Running || task.LastStatus != LifecycleStatus.Running
                    || Endpoint(tx.Cluster, task, link) is not { } endpoint)
                {
                    continue;
                }

                var key = TargetRecord.KeyOf(endpoint.Address, endpoint.Port);
                if (group.Targets.TryGetValue(key, out var existing) && (existing.TaskId == task.Id || existing.Draining && existing.TaskId == task.Id))
                {
                    continue;
                }

                if (existing is not null && existing.TaskId != task.Id && !existing.Draining)
                {
                    // The endpoint was another task's (a host port reused after it stopped): the new owner takes it.
                    group.Targets.Remove(key);
                }

                var zone = tx.Cluster.Instances.TryGetValue(task.InstanceId, out var instance) ? instance.Facts.Zone : "";
                if (TargetRegistry.Register(tx, group, new TargetRecord
                {
                    Id = endpoint.Address,
                    Port = endpoint.Port,
                    AvailabilityZone = zone,
                    RegisteredAt = tx.Now,
                    TaskId = task.Id,
                    Service = service.Name,
                }))
                {
                    registered++;
                }
            }

            // Targets of this service whose task is no longer live: nothing to drain (the container is gone).
            var gone = 0;
            foreach (var target in group.Targets.Values.Where(t => t.Service == service.Name && t.TaskId.Length > 0).ToList())
            {
                // A task whose host was lost (UNKNOWN) cannot drain either: nothing reaches it (see RemoveLostTasks).
                if (!tx.Cluster.Tasks.TryGetValue(target.TaskId, out var task) || task.LastStatus is LifecycleStatus.Stopped or LifecycleStatus.Unknown
                    || (task.DesiredStatus == LifecycleStatus.Stopped && !target.Draining))
                {
                    group.Targets.Remove(target.Key);
                    gone++;
                }
            }

            if (gone > 0)
            {
                tx.PutLoadBalancing(group);
                ServiceRules.AddEvent(service, $"(service {service.Name}) deregistered {gone} targets in (target-group {group.Arn})", tx.Now, TimeSpan.Zero, logger);
                changed = true;
            }

            if (registered > 0)
            {
                ServiceRules.AddEvent(service, $"(service {service.Name}) registered {registered} targets in (target-group {group.Arn})", tx.Now, TimeSpan.Zero, logger);
                changed = true;
            }
        }

        return changed;
    }

    /// <summary>
    /// Deregisters a task's targets before it is stopped (see <see cref="DrainOutcome"/>). Every group of the cluster is
    /// looked at, not only the service's current links: a target of a link UpdateService removed may still be draining,
    /// and the task must outlive it. A target already draining without a stop attached (a link removed, a
    /// DeregisterTargets call) gets this one, so the task is stopped when it is drained.
    /// </summary>
    public static DrainOutcome DrainBeforeStop(ClusterTransaction tx, ServiceRecord service, TaskRecord task, StopCode code, string reason)
    {
        var lbs = tx.Cluster.LoadBalancing;
        if (lbs.TargetGroups.Count == 0)
        {
            return DrainOutcome.NotRegistered;
        }

        var began = false;
        var draining = false;
        foreach (var group in lbs.TargetGroups.Values)
        {
            List<TargetRecord>? mine = null;
            foreach (var target in group.Targets.Values)
            {
                if (target.TaskId == task.Id && target.Service == service.Name)
                {
                    (mine ??= []).Add(target);
                }
            }

            foreach (var target in mine ?? [])
            {
                if (!target.Draining)
                {
                    began |= TargetRegistry.Deregister(tx, group, target, (code, reason));
                    continue;
                }

                draining = true;
                if (target.StopCode is null)
                {
                    group.Targets[target.Key] = target with { StopCode = code, StopReason = reason };
                    tx.PutLoadBalancing(group);
                }
            }
        }

        return began ? DrainOutcome.BeganDraining : draining ? DrainOutcome.AlreadyDraining : DrainOutcome.NotRegistered;
    }

    /// <summary>
    /// ECS StopTask of a service's task: behind load balancers its targets drain first and the task is stopped only when
    /// they are drained (no request left in flight, or the deregistration delay over), with the event the service pass
    /// writes for its own stops. False when the task has no registered target (stop it now).
    /// </summary>
    public static bool DrainBeforeUserStop(ClusterTransaction tx, TaskRecord task, string reason, ILogger logger)
    {
        if (!task.Group.StartsWith("service:", StringComparison.Ordinal) || !tx.Cluster.Services.TryGetValue(task.Group["service:".Length..], out var service))
        {
            return false;
        }

        switch (DrainBeforeStop(tx, service, task, StopCode.UserInitiated, reason))
        {
            case DrainOutcome.BeganDraining:
                ServiceRules.AddEvent(service, $"(service {service.Name}) has begun draining connections on 1 tasks.", tx.Now, TimeSpan.Zero, logger);
                tx.Save(service);
                return true;
            case DrainOutcome.AlreadyDraining:
                return true;
            default:
                return false;
        }
    }

    /// <summary>
    /// UpdateService removed links: the service's targets in groups it no longer links to are deregistered (they drain;
    /// their tasks keep running, and a task stopped later waits for them, see <see cref="DrainBeforeStop"/>).
    /// </summary>
    public static void DeregisterUnlinked(ClusterTransaction tx, ServiceRecord service, ILogger logger)
    {
        var linked = service.LoadBalancers.Select(l => l.TargetGroupArn).ToHashSet(StringComparer.Ordinal);
        var tasks = new HashSet<string>(StringComparer.Ordinal);
        foreach (var group in tx.Cluster.LoadBalancing.TargetGroups.Values)
        {
            if (linked.Contains(group.Arn))
            {
                continue;
            }

            foreach (var target in group.Targets.Values.Where(t => t.Service == service.Name && !t.Draining).ToList())
            {
                if (TargetRegistry.Deregister(tx, group, target, stop: null))
                {
                    tasks.Add(target.TaskId);
                }
            }
        }

        if (tasks.Count > 0)
        {
            ServiceRules.AddEvent(service, $"(service {service.Name}) has begun draining connections on {tasks.Count} tasks.", tx.Now, TimeSpan.Zero, logger);
        }
    }

    /// <summary>
    /// A lost host's tasks (now UNKNOWN): their targets are removed at once, not drained: nothing reaches them, and a
    /// balancer would keep sending requests there for the whole delay. A task that was waiting for a drain to stop is
    /// stopped now. Events name each service's removals as the drainer's do.
    /// </summary>
    public static void RemoveLostTasks(ClusterTransaction tx, IReadOnlyCollection<TaskRecord> lost, ILogger logger)
    {
        var lbs = tx.Cluster.LoadBalancing;
        if (lbs.TargetGroups.Count == 0 || lost.Count == 0)
        {
            return;
        }

        var byId = lost.ToDictionary(t => t.Id, StringComparer.Ordinal);
        var removed = new Dictionary<(string Service, string Group), int>();
        foreach (var group in lbs.TargetGroups.Values)
        {
            var gone = group.Targets.Values.Where(t => t.TaskId.Length > 0 && byId.ContainsKey(t.TaskId)).ToList();
            foreach (var target in gone)
            {
                TargetRegistry.Remove(lbs, group, target);
                if (target is { Draining: true, StopCode: { } code } && byId[target.TaskId] is { DesiredStatus: LifecycleStatus.Running } task)
                {
                    TaskLifecycle.RequestStop(tx, task, code, target.StopReason ?? "");
                }

                if (target.Service.Length > 0)
                {
                    removed[(target.Service, group.Arn)] = removed.GetValueOrDefault((target.Service, group.Arn)) + 1;
                }
            }

            if (gone.Count > 0)
            {
                tx.PutLoadBalancing(group);
            }
        }

        foreach (var ((name, groupArn), count) in removed)
        {
            if (tx.Cluster.Services.TryGetValue(name, out var service))
            {
                ServiceRules.AddEvent(service, $"(service {name}) deregistered {count} targets in (target-group {groupArn})", tx.Now, TimeSpan.Zero, logger);
                tx.Save(service);
            }
        }
    }

    /// <summary>
    /// Whether every target group of the service sees the task's endpoint as healthy (or, with checks off, available).
    /// A task not registered yet, or draining, is not healthy.
    /// </summary>
    public static bool Healthy(ClusterState cluster, ServiceRecord service, TaskRecord task, DateTimeOffset now)
    {
        if (service.LoadBalancers.IsEmpty)
        {
            return true;
        }

        var lbs = cluster.LoadBalancing;
        foreach (var link in service.LoadBalancers)
        {
            if (!lbs.TargetGroups.TryGetValue(link.TargetGroupArn, out var group))
            {
                continue;
            }

            var target = group.Targets.Values.FirstOrDefault(t => t.TaskId == task.Id);
            if (target is null || target.Draining)
            {
                return false;
            }

            if (!LoadBalancingHandler.TargetHealthOf(lbs, group, target, now).InService)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Whether the task's endpoint is reported unhealthy by its balancers (ECS replaces such tasks after the grace period).</summary>
    public static string? UnhealthyIn(ClusterState cluster, ServiceRecord service, TaskRecord task, DateTimeOffset now)
    {
        var lbs = cluster.LoadBalancing;
        foreach (var link in service.LoadBalancers)
        {
            if (lbs.TargetGroups.TryGetValue(link.TargetGroupArn, out var group)
                && group.Targets.Values.FirstOrDefault(t => t.TaskId == task.Id && !t.Draining) is { } target
                && LoadBalancingHandler.TargetHealthOf(lbs, group, target, now) is { State: "unhealthy" } observation)
            {
                return $"(service {service.Name}) (port {target.Port}) is unhealthy in (target-group {group.Arn}) due to (reason {observation.Description}).";
            }
        }

        return null;
    }

    /// <summary>
    /// Where a balancer reaches a task's container port: an awsvpc task's own address (as its agent reported it) and the
    /// container port itself (an ip target); any other task's instance address and the host port mapped to it (an
    /// instance target). Null while the task has no such address yet.
    /// </summary>
    public static (string Address, int Port)? Endpoint(ClusterState cluster, TaskRecord task, ServiceLoadBalancer link)
    {
        if (task.Definition.Definition.NetworkMode == "awsvpc")
        {
            return task.Attachment is { Released: false, Ipv4Address.Length: > 0 } attachment ? (attachment.Ipv4Address, link.ContainerPort) : null;
        }

        if (!cluster.Instances.TryGetValue(task.InstanceId, out var instance) || string.IsNullOrEmpty(instance.Address))
        {
            return null;
        }

        foreach (var binding in task.Ports)
        {
            if (binding.ContainerName == link.ContainerName && binding.ContainerPort == link.ContainerPort && binding.HostPort > 0)
            {
                return (instance.Address, binding.HostPort);
            }
        }

        return null;
    }
}
