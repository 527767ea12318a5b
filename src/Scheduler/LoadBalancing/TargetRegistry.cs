using Berth.Scheduler.Kernel;
using Berth.Scheduler.Services;
using Berth.Scheduler.Tasks;

namespace Berth.Scheduler.LoadBalancing;

/// <summary>
/// Registration and deregistration of targets inside a cluster transaction, shared by the API (RegisterTargets,
/// DeregisterTargets), services (their tasks' endpoints) and the drainer. A deregistered target drains: balancers
/// stop sending it new requests at once and it is removed when the deregistration delay ends or every balancer
/// replica reports nothing in flight on it; a task waiting for its targets to drain is stopped only then.
/// </summary>
internal static class TargetRegistry
{
    /// <summary>Registers a target (a registered one stays as it is; a draining one is registered again).</summary>
    public static bool Register(ClusterTransaction tx, TargetGroupRecord group, TargetRecord target)
    {
        if (group.Targets.TryGetValue(target.Key, out var existing) && !existing.Draining)
        {
            return false;
        }

        group.Targets[target.Key] = target;
        tx.PutLoadBalancing(group);
        return true;
    }

    /// <summary>
    /// Starts draining a target; with <paramref name="stop"/>, its task is stopped once its last draining target is
    /// gone. A delay of 0 removes it at once. True when it began draining now.
    /// </summary>
    public static bool Deregister(ClusterTransaction tx, TargetGroupRecord group, TargetRecord target, (StopCode Code, string Reason)? stop)
    {
        if (target.Draining)
        {
            return false;
        }

        var lbs = tx.Cluster.LoadBalancing;
        // In-flight counts from before the drain do not say the target is idle now.
        if (lbs.InFlight.TryGetValue(group.Arn, out var inFlight))
        {
            inFlight.Remove(target.Key);
        }

        group.Targets[target.Key] = target with
        {
            Draining = true,
            DrainStartedAt = tx.Now,
            DrainDeadline = tx.Now.AddSeconds(group.Attributes.DeregistrationDelaySeconds),
            StopCode = stop?.Code,
            StopReason = stop?.Reason,
        };
        tx.PutLoadBalancing(group);
        return true;
    }

    /// <summary>
    /// Removes draining targets whose delay ended or on which no balancer replica has anything in flight, and stops
    /// the tasks that waited for them. Returns how many targets went.
    /// </summary>
    public static int FinishDrains(ClusterTransaction tx, ILogger logger, TimeSpan eventRepeat)
    {
        var lbs = tx.Cluster.LoadBalancing;
        var now = tx.Now;
        var removed = 0;
        var stops = new Dictionary<string, (StopCode Code, string Reason)>(StringComparer.Ordinal);
        var deregisteredByService = new Dictionary<(string Service, string Group), int>();
        Dictionary<string, List<string>>? balancersByGroup = null;
        foreach (var group in lbs.TargetGroups.Values)
        {
            List<TargetRecord>? done = null;
            foreach (var target in group.Targets.Values)
            {
                if (target.Draining && (now >= target.DrainDeadline
                    || Idle(lbs, (balancersByGroup ??= lbs.LoadBalancersByGroup()).GetValueOrDefault(group.Arn) ?? [], group, target, now)))
                {
                    (done ??= []).Add(target);
                }
            }

            foreach (var target in done ?? [])
            {
                Remove(lbs, group, target);
                removed++;
                if (target.TaskId.Length > 0 && target.StopCode is { } code)
                {
                    stops[target.TaskId] = (code, target.StopReason ?? "");
                }

                if (target.Service.Length > 0)
                {
                    var key = (target.Service, group.Arn);
                    deregisteredByService[key] = deregisteredByService.GetValueOrDefault(key) + 1;
                }
            }

            if (done is not null)
            {
                tx.PutLoadBalancing(group);
            }
        }

        foreach (var ((serviceName, groupArn), count) in deregisteredByService)
        {
            if (tx.Cluster.Services.TryGetValue(serviceName, out var service))
            {
                ServiceRules.AddEvent(service, $"(service {serviceName}) deregistered {count} targets in (target-group {groupArn})", now, TimeSpan.Zero, logger);
                tx.Save(service);
            }
        }

        var stopped = new Dictionary<string, List<TaskRecord>>(StringComparer.Ordinal);
        foreach (var (taskId, (code, reason)) in stops)
        {
            // A task with targets in several groups stops when the last of them is drained.
            if (StillDraining(lbs, taskId) || !tx.Cluster.Tasks.TryGetValue(taskId, out var task) || task.DesiredStatus == LifecycleStatus.Stopped || task.LastStatus == LifecycleStatus.Stopped)
            {
                continue;
            }

            TaskLifecycle.RequestStop(tx, task, code, reason);
            if (task.Group.StartsWith("service:", StringComparison.Ordinal))
            {
                var name = task.Group["service:".Length..];
                if (!stopped.TryGetValue(name, out var list))
                {
                    stopped[name] = list = [];
                }

                list.Add(task);
            }
        }

        foreach (var (name, tasks) in stopped)
        {
            if (tx.Cluster.Services.TryGetValue(name, out var service))
            {
                ServiceRules.AddEvent(service, $"(service {name}) has stopped {tasks.Count} running tasks: {ServiceEvents.TaskList(tasks)}.", now, TimeSpan.Zero, logger);
                tx.Save(service);
            }
        }

        return removed;
    }

    /// <summary>Removes a target with what the balancers reported on it (the caller puts the group).</summary>
    public static void Remove(LoadBalancingState lbs, TargetGroupRecord group, TargetRecord target)
    {
        group.Targets.Remove(target.Key);
        if (lbs.InFlight.TryGetValue(group.Arn, out var inFlight))
        {
            inFlight.Remove(target.Key);
        }

        if (lbs.Health.TryGetValue(group.Arn, out var health))
        {
            health.Remove(target.Key);
        }
    }

    /// <summary>Whether a task still has a draining target anywhere in the cluster.</summary>
    public static bool StillDraining(LoadBalancingState lbs, string taskId) =>
        lbs.TargetGroups.Values.Any(g => g.Targets.Values.Any(t => t.Draining && t.TaskId == taskId));

    /// <summary>
    /// True when nothing can be in flight on a draining target: no load balancer forwards to its group, or every
    /// replica heard from in the last minute has reported 0 requests and 0 connections on it since the drain began. A
    /// replica that went silent may still serve its last configuration (fail static), so with none heard from the
    /// deregistration delay decides.
    /// </summary>
    private static bool Idle(LoadBalancingState lbs, List<string> balancers, TargetGroupRecord group, TargetRecord target, DateTimeOffset now)
    {
        if (balancers.Count == 0)
        {
            return true;
        }

        var replicas = balancers.SelectMany(lb => lbs.Replicas.GetValueOrDefault(lb) ?? [])
            .Where(r => r.Value.Connected || now - r.Value.LastHeard < LoadBalancingHandler.ReplicaMemory).Select(r => r.Key).ToList();
        if (replicas.Count == 0)
        {
            return false;
        }

        var counts = lbs.InFlight.GetValueOrDefault(group.Arn)?.GetValueOrDefault(target.Key);
        return counts is not null && replicas.TrueForAll(r => counts.TryGetValue(r, out var n) && n == 0);
    }
}
