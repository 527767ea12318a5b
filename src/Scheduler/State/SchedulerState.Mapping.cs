using System.Collections.Immutable;
using System.Globalization;
using System.Runtime.InteropServices;
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

    internal static DateTimeOffset? At(Timestamp? ts) => ts is null ? null : ts.ToDateTimeOffset();

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

    /// <summary>
    /// A record from a stored row, with only what start-up needs decoded (definition, group, reservation); the rest
    /// stays as the stored bytes until first used (see <see cref="TaskRecord.StoredInfo"/>).
    /// </summary>
    private TaskRecord? TaskFromRow(TaskRow row, StringPool strings, Dictionary<string, TaskDefinitionRecord> definitions)
    {
        var head = StoredTaskHead.Read(row.Info);
        var definition = definitions.GetValueOrDefault(head.TaskDefinitionArn);
        if (definition is null)
        {
            Log.TaskWithoutDefinition(logger, row.Id, head.TaskDefinitionArn);
            return null;
        }

        var (ports, hostPorts) = ParsePorts(row.Ports, strings);
        var group = strings.Intern(head.Group);
        return new TaskRecord
        {
            Id = row.Id,
            Cluster = strings.Intern(row.Cluster),
            InstanceId = strings.Intern(row.InstanceId),
            Definition = definition,
            Group = group,
            ClientToken = row.ClientToken,
            Ports = ports,
            Reservation = new TaskReservation(head.Cpu, head.Memory, hostPorts, group),
            DesiredStatus = (LifecycleStatus)row.DesiredStatus,
            LastStatus = (LifecycleStatus)row.LastStatus,
            DesiredSeq = row.DesiredSeq,
            AgentSequence = unchecked((ulong)row.AgentSequence),
            Durable = true,
            StoredInfo = row.Info,
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

    /// <summary>
    /// Parses the stored ports (see <see cref="FormatPorts"/>) into the task's bindings and the host ports they hold.
    /// Runs for every live task at start-up, so it slices the text instead of splitting it and sizes both arrays once.
    /// </summary>
    private static (ImmutableArray<PortBinding> Ports, ImmutableArray<HostPort> HostPorts) ParsePorts(string text, StringPool strings)
    {
        if (text.Length == 0)
        {
            return ([], []);
        }

        var span = text.AsSpan();
        var ports = new PortBinding[span.Count(';') + 1];
        var hostPorts = new HostPort[ports.Length];
        var index = 0;
        foreach (var range in span.Split(';'))
        {
            var entry = span[range];
            var name = NextPart(ref entry);
            var containerPort = int.Parse(NextPart(ref entry), CultureInfo.InvariantCulture);
            var hostPort = int.Parse(NextPart(ref entry), CultureInfo.InvariantCulture);
            var protocol = NextPart(ref entry) is "udp" ? TransportProtocol.Udp : TransportProtocol.Tcp;
            ports[index] = new PortBinding(strings.Intern(name), containerPort, hostPort, protocol);
            hostPorts[index] = new HostPort(hostPort, protocol);
            index++;
        }

        return (ImmutableCollectionsMarshal.AsImmutableArray(ports), ImmutableCollectionsMarshal.AsImmutableArray(hostPorts));
    }

    /// <summary>The text up to the next '|' (or the end), and the rest after it.</summary>
    private static ReadOnlySpan<char> NextPart(ref ReadOnlySpan<char> rest)
    {
        var bar = rest.IndexOf('|');
        if (bar < 0)
        {
            var last = rest;
            rest = [];
            return last;
        }

        var part = rest[..bar];
        rest = rest[(bar + 1)..];
        return part;
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
