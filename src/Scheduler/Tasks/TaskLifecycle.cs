using System.Collections.Immutable;
using Berth.Scheduler.Kernel;
using Berth.Scheduler.Placement;

namespace Berth.Scheduler.Tasks;

/// <summary>
/// The task state machine's transitions that several features make (StopTask, agents' reports, lost hosts, services,
/// forced deregistration), written once. Each runs inside a <see cref="ClusterTransaction"/>.
/// </summary>
internal static class TaskLifecycle
{
    /// <summary>Creates the record of a placed task (the caller adds it through the transaction).</summary>
    public static TaskRecord Create(
        ClusterTransaction tx, TaskDefinitionRecord definition, TaskPlacement placement, string group, string startedBy, string launchType, string? clientToken, TaskOverrides? overrides, bool enableExecuteCommand = false, ImmutableArray<string> securityGroups = default, string capacityProvider = "",
        ImmutableArray<SubnetRef> subnets = default) => new()
        {
            Id = Guid.NewGuid().ToString("N"),
            Cluster = tx.Cluster.Name,
            InstanceId = placement.InstanceId,
            Definition = definition,
            Group = group,
            StartedBy = startedBy,
            LaunchType = launchType,
            CapacityProviderName = capacityProvider,
            ClientToken = string.IsNullOrEmpty(clientToken) ? null : clientToken,
            Overrides = overrides,
            EnableExecuteCommand = enableExecuteCommand,
            SecurityGroups = securityGroups.IsDefault ? [] : securityGroups,
            Subnets = subnets.IsDefault ? [] : subnets,
            SubnetId = SubnetOf(tx, definition, placement.InstanceId),
            Ports = placement.PortBindings,
            Reservation = placement.Reservation,
            CreatedAt = tx.Now,
            Containers = NewContainers(definition, placement),
            DesiredSeq = tx.NextSeq(),
        };

    // The subnet a placed awsvpc task is in: its instance's zone's (shown as its attachment's subnetId, which only awsvpc
    // tasks have; other tasks keep none, so a million bridge tasks carry no extra string).
    private static string SubnetOf(ClusterTransaction tx, TaskDefinitionRecord definition, string instanceId) =>
        definition.Definition.NetworkMode == "awsvpc" && instanceId.Length > 0 && tx.Cluster.Instances.TryGetValue(instanceId, out var instance)
            ? Networking.Subnets.OfInstance(instance)
            : "";

    /// <summary>
    /// Creates the record of a task that waits in PROVISIONING for its capacity provider's hosts (ECS: no host had room):
    /// no instance, no host ports, its cpu and memory as its reservation for when it is placed (<see cref="Place"/>).
    /// </summary>
    public static TaskRecord CreateProvisioning(
        ClusterTransaction tx, TaskDefinitionRecord definition, string group, string startedBy, string launchType, string? clientToken, TaskOverrides? overrides, bool enableExecuteCommand,
        ImmutableArray<string> securityGroups, string capacityProvider, string reason, ImmutableArray<SubnetRef> subnets = default)
    {
        var requirements = definition.Requirements;
        var task = Create(tx, definition, new TaskPlacement("", new TaskReservation(requirements.Cpu, requirements.Memory, [], group), []), group, startedBy, launchType, clientToken, overrides, enableExecuteCommand, securityGroups, capacityProvider, subnets);
        task.LastStatus = LifecycleStatus.Provisioning;
        task.ProvisioningReason = reason;
        return task;
    }

    /// <summary>
    /// Places a task that waited in PROVISIONING (the placement's snapshot already adopted): it gets its instance, host
    /// ports and reservation, becomes PENDING, and reaches the instance's agent once durable.
    /// </summary>
    public static void Place(ClusterTransaction tx, TaskRecord task, TaskPlacement placement, InstanceRecord instance)
    {
        task.InstanceId = placement.InstanceId;
        task.SubnetId = SubnetOf(tx, task.Definition, instance.Id);
        task.Ports = placement.PortBindings;
        task.Reservation = placement.Reservation;
        task.LastStatus = LifecycleStatus.Pending;
        task.ProvisioningReason = "";
        task.WaitingStrategy = [];
        task.WaitingConstraints = [];
        foreach (var container in task.Containers)
        {
            container.NetworkBindings = [.. placement.PortBindings
                .Where(p => p.ContainerName == container.Name)
                .Select(p => new NetworkBinding(p.ContainerPort, p.HostPort, p.Protocol == TransportProtocol.Udp ? "udp" : "tcp", ""))];
        }

        task.Version++;
        task.DesiredSeq = tx.NextSeq();
        tx.TaskPlaced(task, instance);
    }

    /// <summary>
    /// Sets a task's desired status to STOPPED; the agent stops it once it sees its instance's next desired state (sent
    /// once the change is durable).
    /// </summary>
    public static void RequestStop(ClusterTransaction tx, TaskRecord task, StopCode code, string reason)
    {
        if (task.LastStatus == LifecycleStatus.Provisioning)
        {
            // Nothing runs anywhere yet: no agent is to be told, so it is STOPPED at once.
            task.StopCode = code;
            task.StoppedReason = reason;
            task.StoppingAt = tx.Now;
            task.ProvisioningReason = "";
            MarkStopped(tx, task);
            return;
        }

        task.DesiredStatus = LifecycleStatus.Stopped;
        task.StopCode = code;
        task.StoppedReason = reason;
        task.StoppingAt = tx.Now;
        task.Version++;
        task.DesiredSeq = tx.NextSeq();
        tx.Save(task);
        if (tx.Cluster.Instances.TryGetValue(task.InstanceId, out var instance))
        {
            tx.DesiredChanged(instance);
        }
    }

    /// <summary>Marks a task STOPPED: terminal; its reservation goes back to the instance and it leaves the desired set.</summary>
    public static void MarkStopped(ClusterTransaction tx, TaskRecord task)
    {
        if (task.LastStatus == LifecycleStatus.Stopped)
        {
            return;
        }

        task.LastStatus = LifecycleStatus.Stopped;
        task.DesiredStatus = LifecycleStatus.Stopped;
        task.StoppedAt ??= tx.Now;
        foreach (var container in task.Containers)
        {
            container.LastStatus = LifecycleStatus.Stopped;
        }

        task.Version++;
        task.DesiredSeq = tx.NextSeq();
        tx.TaskStopped(task);
    }

    /// <summary>Stops a task declared UNKNOWN that its returning host no longer has.</summary>
    public static void StopLost(ClusterTransaction tx, TaskRecord task)
    {
        if (task.StopCode == StopCode.Unspecified)
        {
            task.StopCode = StopCode.TerminationNotice;
        }

        if (string.IsNullOrEmpty(task.StoppedReason))
        {
            task.StoppedReason = "Task was not found on its container instance when the instance's agent reconnected";
        }

        MarkStopped(tx, task);
    }

    private static List<TaskContainer> NewContainers(TaskDefinitionRecord definition, TaskPlacement placement)
    {
        var containers = new List<TaskContainer>();
        foreach (var c in definition.Definition.ContainerDefinitions ?? [])
        {
            var container = new TaskContainer
            {
                Name = c.Name ?? "",
                Image = c.Image ?? "",
                LastStatus = LifecycleStatus.Pending,
                Essential = c.IsEssential,
            };
            foreach (var p in placement.PortBindings)
            {
                if (p.ContainerName == container.Name)
                {
                    container.NetworkBindings.Add(new NetworkBinding(p.ContainerPort, p.HostPort, p.Protocol == TransportProtocol.Udp ? "udp" : "tcp", ""));
                }
            }

            containers.Add(container);
        }

        return containers;
    }
}
