using System.Collections.Immutable;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Berth.Scheduler.Placement;
using Berth.Scheduler.State.Persistence;
using Berth.Scheduler.V1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace Berth.Scheduler.State;

// Conversions between records, rows and protobuf messages. Called under the lock.
internal sealed partial class SchedulerState
{
    private static Timestamp? Ts(DateTimeOffset? at) => at is { } t ? Timestamp.FromDateTimeOffset(t) : null;

    private static DateTimeOffset? At(Timestamp? ts) => ts is null ? null : ts.ToDateTimeOffset();

    private static ClusterRow ToRow(ClusterRecord c) => new() { Name = c.Name, Status = c.Status, CreatedAtMs = c.CreatedAt.ToUnixTimeMilliseconds() };

    private static TaskDefinitionRow ToRow(TaskDefinitionRecord d) => new()
    {
        Family = d.Family,
        Revision = d.Revision,
        Status = d.Status,
        Json = d.Json,
        RegisteredAtMs = d.RegisteredAt.ToUnixTimeMilliseconds(),
        DeregisteredAtMs = d.DeregisteredAt?.ToUnixTimeMilliseconds(),
    };

    private static InstanceRow ToRow(InstanceRecord i) => new()
    {
        Id = i.Id,
        Cluster = i.Cluster,
        Status = (int)i.Status,
        CredentialHash = i.CredentialHash,
        RegisteredAtMs = i.RegisteredAt.ToUnixTimeMilliseconds(),
        DesiredSeq = i.DesiredSeq,
        Facts = i.Facts.ToByteArray(),
        CustomAttributes = JsonSerializer.SerializeToUtf8Bytes(i.CustomAttributes),
    };

    private static TaskRow ToRow(TaskRecord t)
    {
        // ARNs are derived, never stored; the task-definition ARN is, because a task pins its revision.
        var info = ToInfo(t, withArns: false);
        info.TaskDefinitionArn = t.Definition.Arn;
        return new TaskRow
        {
            Id = t.Id,
            Cluster = t.Cluster,
            InstanceId = t.InstanceId,
            DesiredStatus = (int)t.DesiredStatus,
            LastStatus = (int)t.LastStatus,
            DesiredSeq = t.DesiredSeq,
            AgentSequence = unchecked((long)t.AgentSequence),
            ClientToken = t.ClientToken,
            Ports = FormatPorts(t.Ports),
            Info = info.ToByteArray(),
        };
    }

    private TaskRecord? TaskFromRow(TaskRow row, StringPool strings, Dictionary<string, TaskDefinitionRecord> definitions)
    {
        var info = TaskInfo.Parser.ParseFrom(row.Info);
        var definition = definitions.GetValueOrDefault(info.TaskDefinitionArn);
        if (definition is null)
        {
            Log.TaskWithoutDefinition(logger, row.Id, info.TaskDefinitionArn);
            return null;
        }

        var ports = ParsePorts(row.Ports, strings);
        foreach (var container in info.Containers)
        {
            container.Name = strings.Intern(container.Name);
            container.Image = strings.Intern(container.Image);
        }

        var group = strings.Intern(info.Group);
        return new TaskRecord
        {
            Id = row.Id,
            Cluster = strings.Intern(row.Cluster),
            InstanceId = strings.Intern(row.InstanceId),
            Definition = definition,
            Group = group,
            StartedBy = strings.Intern(info.StartedBy),
            LaunchType = strings.Intern(info.LaunchType),
            ClientToken = row.ClientToken,
            Overrides = info.Overrides,
            Ports = ports,
            Reservation = new TaskReservation(info.Cpu, info.Memory, [.. ports.Select(p => new HostPort(p.HostPort, p.Protocol))], group),
            CreatedAt = At(info.CreatedAt) ?? DateTimeOffset.UnixEpoch,
            DesiredStatus = (LifecycleStatus)row.DesiredStatus,
            LastStatus = (LifecycleStatus)row.LastStatus,
            StopCode = info.StopCode,
            StoppedReason = info.StoppedReason,
            HealthStatus = info.HealthStatus,
            Containers = [.. info.Containers],
            StartedAt = At(info.StartedAt),
            StoppingAt = At(info.StoppingAt),
            StoppedAt = At(info.StoppedAt),
            LastReportedAt = At(info.LastReportedAt),
            Version = info.Version,
            DesiredSeq = row.DesiredSeq,
            AgentSequence = unchecked((ulong)row.AgentSequence),
            Durable = true,
        };
    }

    private static string FormatPorts(ImmutableArray<PortBinding> ports)
    {
        if (ports.IsDefaultOrEmpty)
        {
            return "";
        }

        var text = new StringBuilder();
        foreach (var p in ports)
        {
            if (text.Length > 0)
            {
                text.Append(';');
            }

            text.Append(CultureInfo.InvariantCulture, $"{p.ContainerName}|{p.ContainerPort}|{p.HostPort}|{(p.Protocol == TransportProtocol.Udp ? "udp" : "tcp")}");
        }

        return text.ToString();
    }

    private static ImmutableArray<PortBinding> ParsePorts(string text, StringPool strings)
    {
        if (text.Length == 0)
        {
            return [];
        }

        var builder = ImmutableArray.CreateBuilder<PortBinding>();
        foreach (var entry in text.Split(';'))
        {
            var parts = entry.Split('|');
            builder.Add(new PortBinding(
                strings.Intern(parts[0]),
                int.Parse(parts[1], CultureInfo.InvariantCulture),
                int.Parse(parts[2], CultureInfo.InvariantCulture),
                parts[3] == "udp" ? TransportProtocol.Udp : TransportProtocol.Tcp));
        }

        return builder.ToImmutable();
    }

    internal static TaskInfo ToInfo(TaskRecord t, bool withArns = true)
    {
        var info = new TaskInfo
        {
            TaskId = t.Id,
            Cluster = t.Cluster,
            TaskDefinitionArn = t.Definition.Arn,
            ContainerInstanceId = t.InstanceId,
            DesiredStatus = t.DesiredStatus,
            LastStatus = t.LastStatus,
            Group = t.Group,
            StartedBy = t.StartedBy,
            LaunchType = t.LaunchType,
            Cpu = t.Reservation.Cpu,
            Memory = t.Reservation.Memory,
            StopCode = t.StopCode,
            StoppedReason = t.StoppedReason,
            HealthStatus = t.HealthStatus,
            CreatedAt = Ts(t.CreatedAt),
            StartedAt = Ts(t.StartedAt),
            StoppingAt = Ts(t.StoppingAt),
            StoppedAt = Ts(t.StoppedAt),
            LastReportedAt = Ts(t.LastReportedAt),
            Version = t.Version,
            Overrides = t.Overrides,
        };
        if (withArns)
        {
            info.TaskArn = t.Arn;
            info.ContainerInstanceArn = Arns.ContainerInstance(t.Cluster, t.InstanceId);
            info.Containers.AddRange(t.Containers.Select(c => c.Clone()));
        }
        else
        {
            info.Containers.AddRange(t.Containers);
        }

        return info;
    }

    private ContainerInstance ToProto(InstanceRecord i)
    {
        var view = Snapshot(i.Cluster).Find(i.Id);
        var registered = new InstanceResources { Cpu = i.Facts.Cpu, Memory = i.Facts.Memory };
        registered.Ports.AddRange(i.Facts.ReservedPorts);
        registered.PortsUdp.AddRange(i.Facts.ReservedPortsUdp);
        var remaining = new InstanceResources
        {
            Cpu = view?.RemainingCpu ?? i.Facts.Cpu - i.Tasks.Sum(t => t.Reservation.Cpu),
            Memory = view?.RemainingMemory ?? i.Facts.Memory - i.Tasks.Sum(t => t.Reservation.Memory),
        };
        // ECS lists the ports in use (reserved plus taken by tasks) under the remaining resources' PORTS entry.
        var used = view?.UsedPorts ?? PortSet.Of(i.Tasks.SelectMany(t => t.Reservation.HostPorts));
        foreach (var port in used)
        {
            (port.Protocol == TransportProtocol.Udp ? remaining.PortsUdp : remaining.Ports).Add(port.Port);
        }

        var proto = new ContainerInstance
        {
            ContainerInstanceId = i.Id,
            ContainerInstanceArn = i.Arn,
            Cluster = i.Cluster,
            Status = i.Status,
            AgentConnected = i.AgentConnected,
            AgentVersion = i.Facts.AgentVersion,
            RegisteredResources = registered,
            RemainingResources = remaining,
            RunningTasksCount = i.Tasks.Count(t => t.LastStatus == LifecycleStatus.Running),
            PendingTasksCount = i.Tasks.Count(t => IsPending(t.LastStatus)),
            RegisteredAt = Ts(i.RegisteredAt),
            Hostname = i.Facts.Hostname,
            LastSeenAt = Ts(i.LastSeenAt),
            DesiredVersion = i.DesiredVersion,
            AcknowledgedVersion = i.AcknowledgedVersion,
        };
        proto.Attributes.AddRange(AttributesOf(i).Select(a => new InstanceAttribute { Name = a.Key, Value = a.Value }));
        return proto;
    }

    /// <summary>
    /// Before RUNNING: the pending counts. UNKNOWN is neither pending nor running (the task may run on a lost host),
    /// so it counts in neither, though it still holds its reservation.
    /// </summary>
    private static bool IsPending(LifecycleStatus status) => status is not (LifecycleStatus.Running or LifecycleStatus.Stopped or LifecycleStatus.Unknown);

    private V1.Cluster ToProto(ClusterRecord c)
    {
        int instances = 0, running = 0, pending = 0;
        foreach (var i in _instances.Values)
        {
            if (i.Cluster != c.Name || i.Status == ContainerInstanceStatus.Inactive)
            {
                continue;
            }

            instances++;
            foreach (var t in i.Tasks)
            {
                if (t.LastStatus == LifecycleStatus.Running)
                {
                    running++;
                }
                else if (IsPending(t.LastStatus))
                {
                    pending++;
                }
            }
        }

        return new V1.Cluster
        {
            Name = c.Name,
            Arn = c.Arn,
            Status = c.Status,
            RegisteredContainerInstancesCount = instances,
            RunningTasksCount = running,
            PendingTasksCount = pending,
            ActiveServicesCount = CountServicesLocked(c.Name, ServiceStatuses.Active),
            CreatedAt = Ts(c.CreatedAt),
        };
    }

    private static V1.TaskDefinition ToProto(TaskDefinitionRecord d) => new()
    {
        Family = d.Family,
        Revision = d.Revision,
        Arn = d.Arn,
        Status = d.Status,
        TaskDefinitionJson = d.DescribedJson,
        RegisteredAt = Ts(d.RegisteredAt),
        DeregisteredAt = Ts(d.DeregisteredAt),
        Cpu = d.Requirements.Cpu,
        Memory = d.Requirements.Memory,
    };

    private static DesiredTask ToDesired(TaskRecord t)
    {
        var desired = new DesiredTask
        {
            TaskId = t.Id,
            TaskArn = t.Arn,
            Cluster = t.Cluster,
            TaskDefinitionArn = t.Definition.Arn,
            DesiredStatus = t.DesiredStatus,
            Overrides = t.Overrides,
            Group = t.Group,
            StartedBy = t.StartedBy,
            Cpu = t.Reservation.Cpu,
            Memory = t.Reservation.Memory,
            StoppedReason = t.StoppedReason,
            StopCode = t.StopCode,
            CreatedAt = Ts(t.CreatedAt),
        };
        foreach (var p in t.Ports)
        {
            desired.PortAssignments.Add(new PortAssignment
            {
                ContainerName = p.ContainerName,
                ContainerPort = p.ContainerPort,
                HostPort = p.HostPort,
                Protocol = p.Protocol == TransportProtocol.Udp ? "udp" : "tcp",
            });
        }

        return desired;
    }
}
