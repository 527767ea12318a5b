using System.Collections.Immutable;
using Berth.Scheduler.Kernel;
using Google.Protobuf.WellKnownTypes;

namespace Berth.Scheduler.ControlPlane;

/// <summary>
/// Conversions between the scheduler's records and the protocol's messages (protos/berth/scheduler/v1), shared by both
/// edges: the control plane's services and the agents' sessions. Nothing inside the edges sees a protobuf type.
/// </summary>
internal static class WireConvert
{
    // The kernel's enums carry the protocol's numbers for the same names (a test holds the lists equal), so these are casts.
    public static V1.LifecycleStatus ToWire(LifecycleStatus status) => (V1.LifecycleStatus)(int)status;

    public static V1.StopCode ToWire(StopCode code) => (V1.StopCode)(int)code;

    public static V1.HealthStatus ToWire(HealthStatus status) => (V1.HealthStatus)(int)status;

    public static V1.ContainerInstanceStatus ToWire(Placement.InstanceStatus status) => status switch
    {
        Placement.InstanceStatus.Active => V1.ContainerInstanceStatus.Active,
        Placement.InstanceStatus.Draining => V1.ContainerInstanceStatus.Draining,
        _ => V1.ContainerInstanceStatus.Inactive,
    };

    /// <summary>A status from the wire; a number the protocol does not define is INVALID_ARGUMENT naming the field.</summary>
    public static LifecycleStatus FromWire(V1.LifecycleStatus status, string field) =>
        System.Enum.IsDefined(status) ? (LifecycleStatus)(int)status : throw StateException.Invalid($"{field}: {(int)status} is not a lifecycle status.");

    public static StopCode FromWire(V1.StopCode code, string field) =>
        System.Enum.IsDefined(code) ? (StopCode)(int)code : throw StateException.Invalid($"{field}: {(int)code} is not a stop code.");

    public static HealthStatus FromWire(V1.HealthStatus status, string field) =>
        System.Enum.IsDefined(status) ? (HealthStatus)(int)status : throw StateException.Invalid($"{field}: {(int)status} is not a health status.");

    public static Timestamp? ToWire(DateTimeOffset? at) => at is { } t ? Timestamp.FromDateTimeOffset(t) : null;

    public static DateTimeOffset? FromWire(Timestamp? ts) => ts?.ToDateTimeOffset();

    public static HostFacts FromWire(V1.HostFacts facts) => new()
    {
        Hostname = facts.Hostname,
        Cpu = facts.Cpu,
        Memory = facts.Memory,
        AgentVersion = facts.AgentVersion,
        OsType = facts.OsType,
        CpuArchitecture = facts.CpuArchitecture,
        Zone = facts.Zone,
        InstanceType = facts.InstanceType,
        Attributes = [.. facts.Attributes.Select(a => KeyValuePair.Create(a.Name, a.Value))],
        ReservedPorts = [.. facts.ReservedPorts],
        ReservedPortsUdp = [.. facts.ReservedPortsUdp],
        DynamicPortFirst = facts.DynamicPortFirst,
        DynamicPortLast = facts.DynamicPortLast,
        RuntimeVersion = facts.RuntimeVersion,
        AdvertiseAddress = facts.AdvertiseAddress,
    };

    public static TaskOverrides? FromWire(V1.TaskOverride? overrides) => overrides is null
        ? null
        : new TaskOverrides([.. overrides.ContainerOverrides.Select(c => new ContainerOverrides(
            c.Name, [.. c.Command], c.CommandSet, [.. c.Environment.Select(e => new EnvironmentVariable(e.Name, e.Value))]))]);

    public static V1.TaskOverride? ToWire(TaskOverrides? overrides)
    {
        if (overrides is null)
        {
            return null;
        }

        var message = new V1.TaskOverride();
        foreach (var c in overrides.ContainerOverrides)
        {
            var container = new V1.ContainerOverride { Name = c.Name, CommandSet = c.CommandSet };
            container.Command.AddRange(c.Command);
            container.Environment.AddRange(c.Environment.Select(e => new V1.EnvironmentVariable { Name = e.Name, Value = e.Value }));
            message.ContainerOverrides.Add(container);
        }

        return message;
    }

    public static ImmutableArray<PlacementSpec> FromWire(IEnumerable<V1.PlacementStrategy> strategies) => [.. strategies.Select(s => new PlacementSpec(s.Type, s.Field))];

    public static ImmutableArray<PlacementSpec> FromWire(IEnumerable<V1.PlacementConstraint> constraints) => [.. constraints.Select(c => new PlacementSpec(c.Type, c.Expression))];

    public static NetworkBinding FromWire(V1.NetworkBinding binding) => new(binding.ContainerPort, binding.HostPort, binding.Protocol, binding.BindIp);

    public static V1.NetworkBinding ToWire(NetworkBinding binding) =>
        new() { ContainerPort = binding.ContainerPort, HostPort = binding.HostPort, Protocol = binding.Protocol, BindIp = binding.BindIp };

    public static V1.Failure ToWire(Failure failure) => new() { Arn = failure.Arn, Reason = failure.Reason, Detail = failure.Detail };

    /// <summary>A task as the API shows it (with its ARNs).</summary>
    public static V1.TaskInfo ToInfo(TaskRecord t)
    {
        var details = t.Details;
        var info = new V1.TaskInfo
        {
            TaskId = t.Id,
            TaskArn = t.Arn,
            Cluster = t.Cluster,
            TaskDefinitionArn = t.Definition.Arn,
            ContainerInstanceId = t.InstanceId,
            // A task that waited in PROVISIONING and stopped there never had an instance.
            ContainerInstanceArn = t.InstanceId.Length == 0 ? "" : Arns.ContainerInstance(t.Cluster, t.InstanceId),
            DesiredStatus = ToWire(t.DesiredStatus),
            LastStatus = ToWire(t.LastStatus),
            Group = t.Group,
            StartedBy = details.StartedBy,
            LaunchType = details.LaunchType,
            CapacityProviderName = details.CapacityProviderName,
            ProvisioningReason = details.ProvisioningReason,
            Cpu = t.Reservation.Cpu,
            Memory = t.Reservation.Memory,
            StopCode = ToWire(details.StopCode),
            StoppedReason = details.StoppedReason,
            HealthStatus = ToWire(details.HealthStatus),
            CreatedAt = ToWire(details.CreatedAt),
            StartedAt = ToWire(details.StartedAt),
            StoppingAt = ToWire(details.StoppingAt),
            StoppedAt = ToWire(t.StoppedAt),
            LastReportedAt = ToWire(details.LastReportedAt),
            Version = details.Version,
            Overrides = ToWire(details.Overrides),
            EnableExecuteCommand = details.EnableExecuteCommand,
        };
        foreach (var c in details.Containers)
        {
            var container = new V1.Container
            {
                Name = c.Name,
                Image = c.Image,
                LastStatus = ToWire(c.LastStatus),
                Reason = c.Reason,
                HealthStatus = ToWire(c.HealthStatus),
                RuntimeId = c.RuntimeId,
                Essential = c.Essential,
                ImageDigest = c.ImageDigest,
            };
            if (c.ExitCode is { } exitCode)
            {
                container.ExitCode = exitCode;
            }

            // A stopped task's host ports went back to its instance (other tasks may hold them now): listing them
            // would send people to ports that are not its own any more. The record keeps what the agent reported.
            if (t.LastStatus != LifecycleStatus.Stopped)
            {
                container.NetworkBindings.AddRange(c.NetworkBindings.Select(ToWire));
            }

            info.Containers.Add(container);
        }

        if (details.Attachment is { } a)
        {
            // ECS's shape: one ElasticNetworkInterface attachment whose details name the subnet and the address.
            var attachment = new V1.Attachment { Id = t.Id, Type = "ElasticNetworkInterface", Status = a.Released ? "DELETED" : "ATTACHED" };
            // ECS's subnetId is the subnet's id: the zone's, when the host has one. A host without a zone is in no subnet;
            // its task shows the host's task subnet there, as before subnets existed. taskSubnet always names that CIDR.
            attachment.Details.Add(new V1.AttachmentDetail { Name = "subnetId", Value = details.SubnetId.Length > 0 ? details.SubnetId : a.Subnet });
            attachment.Details.Add(new V1.AttachmentDetail { Name = "taskSubnet", Value = a.Subnet });
            attachment.Details.Add(new V1.AttachmentDetail { Name = "privateIPv4Address", Value = a.Ipv4Address });
            attachment.Details.Add(new V1.AttachmentDetail { Name = "macAddress", Value = a.MacAddress });
            attachment.Details.Add(new V1.AttachmentDetail { Name = "gateway", Value = a.Gateway });
            info.Attachments.Add(attachment);
        }

        if (!details.SecurityGroups.IsEmpty || !details.Subnets.IsEmpty)
        {
            info.NetworkConfiguration = ToWire(details.SecurityGroups, details.Subnets);
        }

        return info;
    }

    /// <summary>ECS networkConfiguration with its awsvpcConfiguration's groups and subnets.</summary>
    public static V1.NetworkConfiguration ToWire(System.Collections.Immutable.ImmutableArray<string> securityGroups, System.Collections.Immutable.ImmutableArray<SubnetRef> subnets) =>
        new() { AwsvpcConfiguration = new V1.AwsvpcNetworkConfiguration { SecurityGroups = { securityGroups }, Subnets = { subnets.Select(s => s.Id) } } };

    /// <summary>The groups of a request's networkConfiguration (none when it is unset).</summary>
    public static System.Collections.Immutable.ImmutableArray<string> FromWire(V1.NetworkConfiguration? configuration) =>
        configuration?.AwsvpcConfiguration is { } awsvpc ? [.. awsvpc.SecurityGroups] : [];

    /// <summary>The subnet ids of a request's networkConfiguration (none when it is unset).</summary>
    public static System.Collections.Immutable.ImmutableArray<string> SubnetsFromWire(V1.NetworkConfiguration? configuration) =>
        configuration?.AwsvpcConfiguration is { } awsvpc ? [.. awsvpc.Subnets] : [];
}
