using Berth.Scheduler.Kernel;
using Berth.Scheduler.Services;

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
    /// Registers the endpoints of the service's running tasks (instance address + host port of the linked container
    /// port) and removes targets of its tasks that stopped without draining (died, lost). Events as ECS words them.
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
                if (!tx.Cluster.Tasks.TryGetValue(target.TaskId, out var task) || task.LastStatus is LifecycleStatus.Stopped
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

    /// <summary>Deregisters a task's targets before it is stopped (see <see cref="DrainOutcome"/>).</summary>
    public static DrainOutcome DrainBeforeStop(ClusterTransaction tx, ServiceRecord service, TaskRecord task, StopCode code, string reason)
    {
        if (service.LoadBalancers.IsEmpty)
        {
            return DrainOutcome.NotRegistered;
        }

        var lbs = tx.Cluster.LoadBalancing;
        var began = false;
        var draining = false;
        foreach (var link in service.LoadBalancers)
        {
            if (!lbs.TargetGroups.TryGetValue(link.TargetGroupArn, out var group))
            {
                continue;
            }

            foreach (var target in group.Targets.Values.Where(t => t.TaskId == task.Id).ToList())
            {
                if (target.Draining)
                {
                    draining = true;
                }
                else
                {
                    began |= TargetRegistry.Deregister(tx, group, target, (code, reason));
                }
            }
        }

        return began ? DrainOutcome.BeganDraining : draining ? DrainOutcome.AlreadyDraining : DrainOutcome.NotRegistered;
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

            var state = LoadBalancingHandler.TargetHealthOf(lbs, group, target, now).State;
            if (state is not ("healthy" or "unavailable"))
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

    /// <summary>Where a balancer reaches a task's container port: its instance's address and the host port mapped to it.</summary>
    public static (string Address, int Port)? Endpoint(ClusterState cluster, TaskRecord task, ServiceLoadBalancer link)
    {
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
