using System.Collections.Immutable;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Berth.Core.TaskDefinitions;
using Berth.Scheduler.Kernel;
using Berth.Scheduler.Placement;

namespace Berth.Scheduler.Persistence;

/// <summary>Records to rows and back: the only place that knows both the kernel's records and the stored format.</summary>
internal static class StoredForm
{
    public static ClusterRow ToRow(ClusterRecord c) => new()
    {
        Name = c.Name,
        Status = c.Status,
        CreatedAtMs = c.CreatedAt.ToUnixTimeMilliseconds(),
        TaskCidr = c.TaskCidr,
        CapacityProviders = StoredCapacityProviders.ToColumn(c),
    };

    public static ClusterRecord FromRow(ClusterRow row)
    {
        var record = new ClusterRecord { Name = row.Name, Status = row.Status, CreatedAt = Ms(row.CreatedAtMs), TaskCidr = row.TaskCidr };
        StoredCapacityProviders.FromColumn(row.CapacityProviders, record);
        return record;
    }

    public static TaskDefinitionRow ToRow(TaskDefinitionRecord d) => new()
    {
        Family = d.Family,
        Revision = d.Revision,
        Status = d.Status,
        Json = d.Json,
        RegisteredAtMs = d.RegisteredAt.ToUnixTimeMilliseconds(),
        DeregisteredAtMs = d.DeregisteredAt?.ToUnixTimeMilliseconds(),
    };

    public static TaskDefinitionRecord FromRow(TaskDefinitionRow row)
    {
        var definition = TaskDefinitionJson.ParseStored(row.Json);
        var record = new TaskDefinitionRecord
        {
            Family = row.Family,
            Revision = row.Revision,
            Definition = definition,
            Json = row.Json,
            Requirements = TaskDefinitionRecord.RequirementsOf(definition),
            Arn = Arns.TaskDefinition(row.Family, row.Revision),
            RegisteredAt = Ms(row.RegisteredAtMs),
        };
        record.SetStatus(row.Status, row.DeregisteredAtMs is { } d ? Ms(d) : null);
        return record;
    }

    public static InstanceRow ToRow(InstanceRecord i) => new()
    {
        Id = i.Id,
        Cluster = i.Cluster,
        Status = (int)i.Status + 1,
        CredentialHash = i.CredentialHash,
        RegisteredAtMs = i.RegisteredAt.ToUnixTimeMilliseconds(),
        DeregisteredAtMs = i.DeregisteredAt?.ToUnixTimeMilliseconds(),
        DesiredSeq = i.DesiredSeq,
        HostFacts = StoredDocuments.Encode(ToDocument(i.Facts)),
        CustomAttributes = StoredDocuments.Encode(i.CustomAttributes),
        TaskSubnet = i.TaskSubnet,
        HostAddress = i.HostAddress,
    };

    public static InstanceRecord FromRow(InstanceRow row)
    {
        var instance = new InstanceRecord
        {
            Id = row.Id,
            Cluster = row.Cluster,
            CredentialHash = row.CredentialHash,
            Status = row.Status switch
            {
                1 => InstanceStatus.Active,
                2 => InstanceStatus.Draining,
                3 => InstanceStatus.Inactive,
                _ => throw new InvalidDataException($"Container instance {row.Id} has stored status {row.Status}."),
            },
            RegisteredAt = Ms(row.RegisteredAtMs),
            DeregisteredAt = row.DeregisteredAtMs is { } d ? Ms(d) : null,
            Facts = FromDocument(StoredDocuments.DecodeHostFacts(row.HostFacts ?? throw new InvalidDataException($"Container instance {row.Id} has no host facts."))),
            DesiredSeq = row.DesiredSeq,
            TaskSubnet = row.TaskSubnet,
            HostAddress = row.HostAddress,
        };
        foreach (var (name, value) in StoredDocuments.DecodeAttributes(row.CustomAttributes))
        {
            instance.CustomAttributes[name] = value;
        }

        return instance;
    }

    public static HostFactsDocument ToDocument(HostFacts f) => new()
    {
        Hostname = f.Hostname,
        Cpu = f.Cpu,
        Memory = f.Memory,
        AgentVersion = f.AgentVersion,
        OsType = f.OsType,
        CpuArchitecture = f.CpuArchitecture,
        Zone = f.Zone,
        InstanceType = f.InstanceType,
        Attributes = f.Attributes.IsEmpty ? null : [.. f.Attributes.Select(a => new AttributeDocument { Name = a.Key, Value = a.Value })],
        ReservedPorts = f.ReservedPorts.IsEmpty ? null : [.. f.ReservedPorts],
        ReservedPortsUdp = f.ReservedPortsUdp.IsEmpty ? null : [.. f.ReservedPortsUdp],
        DynamicPortFirst = f.DynamicPortFirst,
        DynamicPortLast = f.DynamicPortLast,
        RuntimeVersion = f.RuntimeVersion,
        AdvertiseAddress = f.AdvertiseAddress.Length == 0 ? null : f.AdvertiseAddress,
    };

    private static HostFacts FromDocument(HostFactsDocument d) => new()
    {
        Hostname = d.Hostname ?? "",
        Cpu = d.Cpu,
        Memory = d.Memory,
        AgentVersion = d.AgentVersion ?? "",
        OsType = d.OsType ?? "",
        CpuArchitecture = d.CpuArchitecture ?? "",
        Zone = d.Zone ?? "",
        InstanceType = d.InstanceType ?? "",
        Attributes = [.. (d.Attributes ?? []).Select(a => KeyValuePair.Create(a.Name ?? "", a.Value ?? ""))],
        ReservedPorts = [.. d.ReservedPorts ?? []],
        ReservedPortsUdp = [.. d.ReservedPortsUdp ?? []],
        DynamicPortFirst = d.DynamicPortFirst,
        DynamicPortLast = d.DynamicPortLast,
        RuntimeVersion = d.RuntimeVersion ?? "",
        AdvertiseAddress = d.AdvertiseAddress ?? "",
    };

    public static TaskRow ToRow(TaskRecord t) => new()
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
        TaskDefinitionArn = t.Definition.Arn,
        GroupName = t.Group,
        Cpu = t.Reservation.Cpu,
        Memory = t.Reservation.Memory,
        StoppedAtMs = t.LastStatus == LifecycleStatus.Stopped ? (t.StoppedAt ?? DateTimeOffset.UnixEpoch).ToUnixTimeMilliseconds() : null,
        Details = StoredDocuments.Encode(ToDocument(t.Details)),
    };

    public static TaskDetailsDocument ToDocument(TaskDetails d) => new()
    {
        StartedBy = Nz(d.StartedBy),
        LaunchType = Nz(d.LaunchType),
        Overrides = d.Overrides is { } o
            ? [.. o.ContainerOverrides.Select(c => new ContainerOverrideDocument
            {
                Name = c.Name,
                Command = c.Command.IsEmpty ? null : [.. c.Command],
                CommandSet = c.CommandSet,
                Environment = c.Environment.IsEmpty ? null : [.. c.Environment.Select(e => new EnvironmentDocument { Name = e.Name, Value = e.Value })],
            })]
            : null,
        EnableExecuteCommand = d.EnableExecuteCommand,
        CapacityProvider = Nz(d.CapacityProviderName),
        ProvisioningReason = Nz(d.ProvisioningReason),
        WaitingStrategy = d.WaitingStrategy.IsDefaultOrEmpty ? null : [.. d.WaitingStrategy.Select(p => new PlacementDocument { Type = p.Type, Value = p.Value })],
        WaitingConstraints = d.WaitingConstraints.IsDefaultOrEmpty ? null : [.. d.WaitingConstraints.Select(p => new PlacementDocument { Type = p.Type, Value = p.Value })],
        CreatedAt = d.CreatedAt,
        StopCode = (int)d.StopCode,
        StoppedReason = Nz(d.StoppedReason),
        HealthStatus = (int)d.HealthStatus,
        Containers = d.Containers.Count == 0 ? null : d.Containers.ConvertAll(c => new ContainerDocument
        {
            Name = c.Name,
            Image = c.Image,
            LastStatus = (int)c.LastStatus,
            ExitCode = c.ExitCode,
            Reason = Nz(c.Reason),
            NetworkBindings = c.NetworkBindings.Count == 0 ? null : c.NetworkBindings.ConvertAll(b => new BindingDocument
            {
                ContainerPort = b.ContainerPort,
                HostPort = b.HostPort,
                Protocol = b.Protocol,
                BindIp = Nz(b.BindIp),
            }),
            HealthStatus = (int)c.HealthStatus,
            RuntimeId = Nz(c.RuntimeId),
            Essential = c.Essential,
            ImageDigest = Nz(c.ImageDigest),
        }),
        StartedAt = d.StartedAt,
        StoppingAt = d.StoppingAt,
        LastReportedAt = d.LastReportedAt,
        Version = d.Version,
        SecurityGroups = d.SecurityGroups.IsEmpty ? null : [.. d.SecurityGroups],
        Subnets = ToDocuments(d.Subnets),
        SubnetId = d.SubnetId.Length == 0 ? null : d.SubnetId,
        Attachment = d.Attachment is { } a
            ? new AttachmentDocument { Address = a.Ipv4Address, Subnet = Nz(a.Subnet), Gateway = Nz(a.Gateway), Mac = Nz(a.MacAddress), Released = a.Released }
            : null,
    };

    /// <summary>Decodes a task's stored details document (the kernel calls it on a loaded task's first use).</summary>
    public static TaskDetails DecodeDetails(byte[] document) => FromDocument(StoredDocuments.DecodeTaskDetails(document));

    /// <summary>A task's details from their stored document, repeated strings shared (<see cref="SharedStrings"/>).</summary>
    public static TaskDetails FromDocument(TaskDetailsDocument d) => new()
    {
        StartedBy = SharedStrings.Intern(d.StartedBy ?? ""),
        LaunchType = SharedStrings.Intern(d.LaunchType ?? ""),
        Overrides = d.Overrides is { } o
            ? new TaskOverrides([.. o.Select(c => new ContainerOverrides(
                c.Name ?? "",
                [.. c.Command ?? []],
                c.CommandSet,
                [.. (c.Environment ?? []).Select(e => new EnvironmentVariable(e.Name ?? "", e.Value ?? ""))]))])
            : null,
        EnableExecuteCommand = d.EnableExecuteCommand,
        CapacityProviderName = SharedStrings.Intern(d.CapacityProvider ?? ""),
        ProvisioningReason = d.ProvisioningReason ?? "",
        WaitingStrategy = [.. (d.WaitingStrategy ?? []).Select(p => new PlacementSpec(p.Type ?? "", p.Value ?? ""))],
        WaitingConstraints = [.. (d.WaitingConstraints ?? []).Select(p => new PlacementSpec(p.Type ?? "", p.Value ?? ""))],
        CreatedAt = d.CreatedAt,
        StopCode = (StopCode)d.StopCode,
        StoppedReason = d.StoppedReason ?? "",
        HealthStatus = (HealthStatus)d.HealthStatus,
        Containers = (d.Containers ?? []).ConvertAll(c => new TaskContainer
        {
            Name = SharedStrings.Intern(c.Name ?? ""),
            Image = SharedStrings.Intern(c.Image ?? ""),
            LastStatus = (LifecycleStatus)c.LastStatus,
            ExitCode = c.ExitCode,
            Reason = c.Reason ?? "",
            NetworkBindings = (c.NetworkBindings ?? []).ConvertAll(b => new NetworkBinding(b.ContainerPort, b.HostPort, SharedStrings.Intern(b.Protocol ?? ""), SharedStrings.Intern(b.BindIp ?? ""))),
            HealthStatus = (HealthStatus)c.HealthStatus,
            RuntimeId = c.RuntimeId ?? "",
            Essential = c.Essential,
            ImageDigest = c.ImageDigest ?? "",
        }),
        StartedAt = d.StartedAt,
        StoppingAt = d.StoppingAt,
        LastReportedAt = d.LastReportedAt,
        Version = d.Version,
        SecurityGroups = d.SecurityGroups is { Count: > 0 } groups ? [.. groups.Select(SharedStrings.Intern)] : [],
        Subnets = FromDocuments(d.Subnets),
        SubnetId = d.SubnetId is { } subnetId ? SharedStrings.Intern(subnetId) : "",
        Attachment = d.Attachment is { } a ? new TaskAttachment(a.Address ?? "", a.Subnet ?? "", a.Gateway ?? "", a.Mac ?? "", a.Released) : null,
    };

    public static ServiceRow ToRow(ServiceRecord s) => new()
    {
        Cluster = s.Cluster,
        Name = s.Name,
        Status = s.Status,
        ClientToken = s.ClientToken,
        InactiveAtMs = s.InactiveAt?.ToUnixTimeMilliseconds(),
        Document = StoredDocuments.Encode(new ServiceDocument
        {
            DesiredCount = s.DesiredCount,
            TaskDefinition = s.TaskDefinitionArn,
            SchedulingStrategy = (int)s.SchedulingStrategy,
            DeploymentConfiguration = new DeploymentConfigurationDocument
            {
                MinimumHealthyPercent = s.DeploymentConfiguration.MinimumHealthyPercent,
                MaximumPercent = s.DeploymentConfiguration.MaximumPercent,
                CircuitBreakerEnable = s.DeploymentConfiguration.CircuitBreaker?.Enable,
                CircuitBreakerRollback = s.DeploymentConfiguration.CircuitBreaker?.Rollback,
            },
            PlacementStrategy = s.PlacementStrategy.IsEmpty ? null : [.. s.PlacementStrategy.Select(p => new PlacementDocument { Type = p.Type, Value = p.Value })],
            PlacementConstraints = s.PlacementConstraints.IsEmpty ? null : [.. s.PlacementConstraints.Select(p => new PlacementDocument { Type = p.Type, Value = p.Value })],
            HealthCheckGracePeriodSeconds = s.HealthCheckGracePeriodSeconds,
            LaunchType = s.LaunchType,
            ReconnectPolicy = (int)s.ReconnectPolicy,
            EnableExecuteCommand = s.EnableExecuteCommand,
            CreatedAt = s.CreatedAt,
            Deployments = s.Deployments.ConvertAll(d => new DeploymentDocument
            {
                Id = d.Id,
                Status = d.Status,
                TaskDefinition = d.TaskDefinitionArn,
                DesiredCount = d.DesiredCount,
                FailedTasks = d.FailedTasks,
                RolloutState = d.RolloutState,
                RolloutStateReason = d.RolloutStateReason,
                CreatedAt = d.CreatedAt,
                UpdatedAt = d.UpdatedAt,
                LaunchType = d.LaunchType,
            }),
            Events = s.Events.ConvertAll(e => new EventDocument { Id = e.Id, CreatedAt = e.CreatedAt, Message = e.Message }),
            Throttle = s.Throttle.IsEmpty ? null : new ThrottleDocument
            {
                Failures = s.Throttle.Failures,
                Level = s.Throttle.Level,
                RetryAt = s.Throttle.RetryAt,
                Summary = s.Throttle.Summary,
                Recent = s.Throttle.Recent.ConvertAll(f => new LaunchFailureDocument { At = f.At, Cause = f.Cause }),
            },
            LoadBalancers = s.LoadBalancers.IsEmpty ? null : [.. s.LoadBalancers.Select(l => new ServiceLoadBalancerDocument { TargetGroup = l.TargetGroupArn, Container = l.ContainerName, Port = l.ContainerPort })],
            SecurityGroups = s.SecurityGroups.IsEmpty ? null : [.. s.SecurityGroups],
            Subnets = ToDocuments(s.Subnets),
            CapacityProviderStrategy = s.CapacityProviderStrategy.Count == 0 ? null : [.. s.CapacityProviderStrategy.Select(i => new StrategyItemDocument { Provider = i.Provider, Base = i.Base, Weight = i.Weight })],
        }),
    };

    public static LoadBalancingRow ToRow(LoadBalancingObject record) => new()
    {
        Arn = record.Arn,
        Cluster = record.Cluster,
        Kind = record switch
        {
            LoadBalancerRecord => 1,
            ListenerRecord => 2,
            RuleRecord => 3,
            _ => 4,
        },
        Document = StoredDocuments.Encode(new LoadBalancingDocument
        {
            LoadBalancer = record as LoadBalancerRecord,
            Listener = record as ListenerRecord,
            Rule = record as RuleRecord,
            TargetGroup = record as TargetGroupRecord,
        }),
    };

    public static LoadBalancingObject FromRow(LoadBalancingRow row)
    {
        var d = StoredDocuments.DecodeLoadBalancing(row.Document);
        return (LoadBalancingObject?)d.LoadBalancer ?? (LoadBalancingObject?)d.Listener ?? (LoadBalancingObject?)d.Rule ?? d.TargetGroup
            ?? throw new InvalidDataException($"Load-balancing row {row.Arn} has no record.");
    }

    /// <summary>A service from its row, its strategies and constraints parsed (they were validated when stored).</summary>
    public static ServiceRecord FromRow(ServiceRow row, TaskDefinitionRecord primaryDefinition, ServiceDocument d)
    {
        var configuration = d.DeploymentConfiguration ?? new DeploymentConfigurationDocument();
        var strategies = ImmutableArray.CreateRange((d.PlacementStrategy ?? []).Select(p => new PlacementSpec(p.Type ?? "", p.Value ?? "")));
        var constraints = ImmutableArray.CreateRange((d.PlacementConstraints ?? []).Select(p => new PlacementSpec(p.Type ?? "", p.Value ?? "")));
        var service = new ServiceRecord
        {
            Cluster = row.Cluster,
            Name = row.Name,
            ClientToken = row.ClientToken,
            Status = row.Status,
            InactiveAt = row.InactiveAtMs is { } inactive ? Ms(inactive) : null,
            DesiredCount = d.DesiredCount,
            TaskDefinitionArn = d.TaskDefinition ?? primaryDefinition.Arn,
            SchedulingStrategy = d.SchedulingStrategy == (int)SchedulingStrategy.Daemon ? SchedulingStrategy.Daemon : SchedulingStrategy.Replica,
            DeploymentConfiguration = new DeploymentSettings
            {
                MinimumHealthyPercent = configuration.MinimumHealthyPercent,
                MaximumPercent = configuration.MaximumPercent,
                CircuitBreaker = configuration.CircuitBreakerEnable is { } enable ? new CircuitBreakerSettings(enable, configuration.CircuitBreakerRollback ?? false) : null,
            },
            PlacementStrategy = strategies,
            PlacementConstraints = constraints,
            HealthCheckGracePeriodSeconds = d.HealthCheckGracePeriodSeconds,
            LaunchType = d.LaunchType ?? "EC2",
            ReconnectPolicy = d.ReconnectPolicy == (int)ReconnectPolicy.KeepOriginal ? ReconnectPolicy.KeepOriginal : ReconnectPolicy.KeepReplacement,
            EnableExecuteCommand = d.EnableExecuteCommand,
            CreatedAt = d.CreatedAt,
            LoadBalancers = [.. (d.LoadBalancers ?? []).Select(l => new ServiceLoadBalancer(l.TargetGroup ?? "", l.Container ?? "", l.Port))],
            SecurityGroups = [.. d.SecurityGroups ?? []],
            Subnets = FromDocuments(d.Subnets),
            CapacityProviderStrategy = [.. (d.CapacityProviderStrategy ?? []).Select(i => new StrategyItem(i.Provider ?? "", i.Base, i.Weight))],
            Strategies = PlacementSpecs.ParseStrategies(strategies),
            Constraints = PlacementSpecs.OwnConstraints(primaryDefinition, constraints),
        };
        service.Definitions[primaryDefinition.Arn] = primaryDefinition;
        service.Deployments.AddRange((d.Deployments ?? []).Select(x => new DeploymentRecord
        {
            Id = x.Id ?? "",
            Status = x.Status ?? "",
            TaskDefinitionArn = x.TaskDefinition ?? "",
            DesiredCount = x.DesiredCount,
            FailedTasks = x.FailedTasks,
            RolloutState = x.RolloutState ?? "",
            RolloutStateReason = x.RolloutStateReason ?? "",
            CreatedAt = x.CreatedAt,
            UpdatedAt = x.UpdatedAt,
            LaunchType = x.LaunchType ?? "",
        }));
        service.Events.AddRange((d.Events ?? []).Select(e => new ServiceEventRecord(e.Id ?? "", e.CreatedAt, e.Message ?? "")));
        if (d.Throttle is { } throttle)
        {
            service.Throttle.Failures = throttle.Failures;
            service.Throttle.Level = throttle.Level;
            service.Throttle.RetryAt = throttle.RetryAt;
            service.Throttle.Summary = throttle.Summary;
            service.Throttle.Recent.AddRange((throttle.Recent ?? []).Select(f => new LaunchFailure(f.At, f.Cause ?? "")));
        }

        return service;
    }

    public static string FormatPorts(ImmutableArray<PortBinding> ports)
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
    public static (ImmutableArray<PortBinding> Ports, ImmutableArray<HostPort> HostPorts) ParsePorts(string text, StringPool strings)
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

    public static DateTimeOffset Ms(long milliseconds) => DateTimeOffset.FromUnixTimeMilliseconds(milliseconds);

    /// <summary>Null for an empty string: documents leave it out, and read it back as empty.</summary>
    public static string? Nz(string? value) => string.IsNullOrEmpty(value) ? null : value;

    private static List<SubnetDocument>? ToDocuments(ImmutableArray<SubnetRef> subnets) =>
        subnets.IsDefaultOrEmpty ? null : [.. subnets.Select(s => new SubnetDocument { Id = s.Id, Zone = s.Zone })];

    private static ImmutableArray<SubnetRef> FromDocuments(List<SubnetDocument>? subnets) =>
        subnets is { Count: > 0 } ? [.. subnets.Select(s => new SubnetRef(SharedStrings.Intern(s.Id ?? ""), SharedStrings.Intern(s.Zone ?? "")))] : [];
}

/// <summary>One string per distinct value, for the many repeats among a load's rows (cluster and instance ids, groups).</summary>
internal sealed class StringPool
{
    private readonly Dictionary<string, string> _pool = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> _spans;

    public StringPool() => _spans = _pool.GetAlternateLookup<ReadOnlySpan<char>>();

    public string Intern(string value)
    {
        if (value.Length == 0)
        {
            return "";
        }

        if (_pool.TryGetValue(value, out var pooled))
        {
            return pooled;
        }

        _pool[value] = value;
        return value;
    }

    /// <summary>As <see cref="Intern(string)"/>, allocating only for a value not seen before.</summary>
    public string Intern(ReadOnlySpan<char> value)
    {
        if (value.IsEmpty)
        {
            return "";
        }

        if (_spans.TryGetValue(value, out var pooled))
        {
            return pooled;
        }

        var text = value.ToString();
        _pool[text] = text;
        return text;
    }
}

/// <summary>
/// One string per repeated value (container names and images, launch types, startedBy) across tasks decoded at any
/// time, from any thread. Bounded: past the limit, values are kept as decoded.
/// </summary>
internal static class SharedStrings
{
    private const int Limit = 65_536;
    private static readonly Lock s_gate = new();
    private static readonly Dictionary<string, string> s_pool = new(StringComparer.Ordinal);

    public static string Intern(string value)
    {
        if (value.Length == 0)
        {
            return "";
        }

        lock (s_gate)
        {
            if (s_pool.TryGetValue(value, out var pooled))
            {
                return pooled;
            }

            if (s_pool.Count < Limit)
            {
                s_pool[value] = value;
            }

            return value;
        }
    }
}
