using Berth.Scheduler.Kernel;
using Berth.Scheduler.Placement;
using Berth.Scheduler.Services;
using Berth.Scheduler.Tasks;

namespace Berth.Scheduler.CapacityProviders;

/// <summary>
/// One look at a cluster's tasks waiting in PROVISIONING, inside its transaction: oldest first, each is placed on its
/// capacity provider's host group when a host there has room now (a host registered, a task stopped), with the
/// placement strategy and constraints it was launched with (its service's, or RunTask's as stored on it); one that has
/// waited past the timeout, or whose subnets are in none of the zones its group makes hosts in, is stopped, and its
/// service records why.
/// </summary>
internal static class ProvisioningPass
{
    /// <summary>Places or times out the cluster's waiting tasks; returns how many were placed.</summary>
    public static int Run(ClusterTransaction tx, PlacementEngine engine, TimeSpan timeout, ILogger logger)
    {
        var cluster = tx.Cluster;
        if (cluster.Provisioning.Count == 0)
        {
            return 0;
        }

        var placed = 0;
        foreach (var task in cluster.Provisioning.ToList())
        {
            var service = ServiceOf(cluster, task);
            if (tx.Now - task.CreatedAt >= timeout)
            {
                TimeOut(tx, task, service, timeout, logger);
                continue;
            }

            if (StrategyPlacement.RecordOf(cluster, task.CapacityProviderName) is not { } provider)
            {
                // Its provider was deleted while it waited: nothing will ever have room; it waits out its timeout.
                continue;
            }

            if (cluster.HostGroups.TryGetValue(provider.HostGroup, out var group) && WaitingZones.Refusal(provider.Name, group, task.Subnets) is { } refusal)
            {
                // The group's zones changed while it waited (the FARGATE pool's settings): it can never make a host the
                // task may use, so the task fails now rather than at its timeout.
                Refuse(tx, task, service, refusal, logger);
                continue;
            }

            PlacementRequest request;
            try
            {
                request = Request(tx, task, service);
            }
            catch (StateException e)
            {
                // RunTask accepted these, so they parse; should one not (a stored document from another version), the
                // task cannot be placed as asked: it fails now rather than stopping every later pass.
                TaskLifecycle.RequestStop(tx, task, StopCode.TaskFailedToStart, $"The task's placement could not be read again: {e.Message}");
                continue;
            }

            var result = StrategyPlacement.PlaceOnGroup(cluster, engine, request, task.CapacityProviderName);
            if (result is { Placements: [var placement] } && cluster.Instances.TryGetValue(placement.InstanceId, out var instance))
            {
                tx.AdoptPlacement(result.Snapshot);
                TaskLifecycle.Place(tx, task, placement, instance);
                placed++;
                continue;
            }

            // Still waiting: say why now (no host at all, or the closest host's missing resource), written only on a change.
            var failure = result?.Failures.FirstOrDefault() ?? new PlacementFailure(null, StrategyPlacement.CapacityFailure, "");
            var reason = StrategyPlacement.WaitingReason(provider.Name, provider.HostGroup, failure, task.Subnets);
            if (reason != task.ProvisioningReason)
            {
                task.ProvisioningReason = reason;
                tx.Save(task);
            }
        }

        return placed;
    }

    /// <summary>The stopped reason of a task that waited past the timeout.</summary>
    public static string TimeoutReason(string provider, TimeSpan timeout) =>
        $"Timeout waiting for capacity: capacity provider '{provider}' had no container instance with room for the task within {(int)timeout.TotalMinutes} minutes in PROVISIONING.";

    private static void TimeOut(ClusterTransaction tx, TaskRecord task, ServiceRecord? service, TimeSpan timeout, ILogger logger)
    {
        var waited = task.ProvisioningReason;
        TaskLifecycle.RequestStop(tx, task, StopCode.TaskFailedToStart, TimeoutReason(task.CapacityProviderName, timeout));
        if (service is not null)
        {
            ServiceRules.AddEvent(service, $"(service {service.Name}) (task {task.Id}) was stopped: it waited {(int)timeout.TotalMinutes} minutes in PROVISIONING for capacity. {waited}", tx.Now, TimeSpan.Zero, logger);
            tx.Save(service);
        }
    }

    private static void Refuse(ClusterTransaction tx, TaskRecord task, ServiceRecord? service, string refusal, ILogger logger)
    {
        TaskLifecycle.RequestStop(tx, task, StopCode.TaskFailedToStart, refusal);
        if (service is not null)
        {
            ServiceRules.AddEvent(service, $"(service {service.Name}) (task {task.Id}) was stopped: {refusal}", tx.Now, TimeSpan.Zero, logger);
            tx.Save(service);
        }
    }

    private static PlacementRequest Request(ClusterTransaction tx, TaskRecord task, ServiceRecord? service)
    {
        var definition = task.Definition;
        if (service is not null)
        {
            return new PlacementRequest
            {
                Task = definition.Requirements,
                Group = task.Group,
                Strategies = service.Strategies,
                Constraints = ServiceRules.ConstraintsOf(tx.Definitions, service),
            };
        }

        // RunTask checked these when it took them: they parse again.
        var constraints = PlacementSpecs.ParseConstraints(definition, task.WaitingConstraints);
        constraints.AddRange(PlacementSpecs.Implied(definition));
        constraints.AddRange(Networking.Subnets.Implied(task.Subnets));
        return new PlacementRequest
        {
            Task = definition.Requirements,
            Group = task.Group,
            Strategies = PlacementSpecs.ParseStrategies(task.WaitingStrategy),
            Constraints = constraints,
        };
    }

    private static ServiceRecord? ServiceOf(ClusterState cluster, TaskRecord task) =>
        task.Group.StartsWith("service:", StringComparison.Ordinal) && cluster.Services.TryGetValue(task.Group["service:".Length..], out var service) ? service : null;
}
