using System.Net;
using Berth.Agent.Dns;
using Berth.Agent.Isolation;
using Berth.Agent.Networking;
using PeerRoute = Berth.Agent.Networking.PeerRoute;
using Berth.Agent.Runtime;
using Berth.Agent.Tasks;
using Berth.Core.Networking;
using Berth.Core.TaskDefinitions;
using TaskDefinition = Berth.Core.TaskDefinitions.TaskDefinition;
using ContainerDefinition = Berth.Core.TaskDefinitions.ContainerDefinition;
using Berth.Scheduler.V1;
using ContainerSpec = Berth.Agent.Tasks.ContainerSpec;
using ProtoCredential = Berth.Scheduler.V1.RegistryCredential;
using RegistryCredential = Berth.Agent.Runtime.RegistryCredential;

namespace Berth.Agent.Sessions;

/// <summary>Turns the scheduler's <see cref="DesiredState"/> (ECS task definitions + assignments) into the agent's <see cref="DesiredTaskSet"/>.</summary>
internal static class DesiredStateMapper
{
    public static DesiredTaskSet Map(DesiredState desired)
    {
        var definitions = new Dictionary<string, (TaskDefinition? Definition, string? Error)>(StringComparer.Ordinal);
        foreach (var document in desired.TaskDefinitions)
        {
            try
            {
                definitions[document.TaskDefinitionArn] = (TaskDefinitionJson.ParseStored(document.TaskDefinitionJson), null);
            }
            catch (Exception ex) when (ex is TaskDefinitionException or System.Text.Json.JsonException)
            {
                definitions[document.TaskDefinitionArn] = (null, $"CannotParseTaskDefinition: {ex.Message}");
            }
        }

        var tasks = desired.Tasks.Select(t => MapTask(t, definitions)).ToList();
        var warnings = new List<string>();
        return new DesiredTaskSet(desired.Version, tasks, desired.InstanceStatus == ContainerInstanceStatus.Inactive)
        {
            HostNetwork = desired.HostNetwork is { } network ? MapHostNetwork(network, warnings) : null,
            SecurityGroups = desired.SecurityGroups.Select(g => MapGroup(g, warnings)).OfType<SecurityGroupSpec>().ToList(),
            ServiceDiscovery = desired.ServiceDiscovery is { } discovery ? MapDiscovery(discovery, warnings) : null,
            Warnings = warnings,
        };
    }

    private static HostNetworkSpec? MapHostNetwork(Berth.Scheduler.V1.HostNetwork network, List<string> warnings)
    {
        if (!Ipv4Cidr.TryParse(network.TaskSubnet, out var subnet, bareAddressIsHost: true) || subnet.Value.PrefixLength is < 16 or > 28)
        {
            warnings.Add($"host_network.task_subnet '{network.TaskSubnet}' is not an IPv4 CIDR from /16 to /28: the host network is ignored");
            return null;
        }

        Ipv4Cidr? cluster = null;
        if (network.ClusterCidr.Length > 0)
        {
            if (Ipv4Cidr.TryParse(network.ClusterCidr, out var c, bareAddressIsHost: true) && c.Value.Contains(subnet.Value))
            {
                cluster = c;
            }
            else
            {
                warnings.Add($"host_network.cluster_cidr '{network.ClusterCidr}' is not an IPv4 CIDR containing {subnet}: ignored");
            }
        }

        var peers = new List<PeerRoute>();
        foreach (var peer in network.PeerRoutes)
        {
            if (!Ipv4Cidr.TryParse(peer.Subnet, out var peerSubnet, bareAddressIsHost: true) || !Ipv4Cidr.TryParseAddress(peer.Via, out var via))
            {
                warnings.Add($"peer route '{peer.Subnet}' via '{peer.Via}' is not an IPv4 CIDR and address: ignored");
            }
            else if (peerSubnet.Value.Overlaps(subnet.Value) || peers.Any(p => p.Subnet.Overlaps(peerSubnet.Value)))
            {
                warnings.Add($"peer route {peerSubnet} overlaps this host's task subnet or another peer's: ignored");
            }
            else
            {
                peers.Add(new PeerRoute(peerSubnet.Value, via, peer.ContainerInstanceId));
            }
        }

        return new HostNetworkSpec(subnet.Value, cluster, peers);
    }

    private static SecurityGroupSpec? MapGroup(Berth.Scheduler.V1.SecurityGroup group, List<string> warnings)
    {
        if (group.GroupId.Length == 0)
        {
            warnings.Add("a security group without group_id: ignored");
            return null;
        }

        var rules = new List<IngressRule>();
        foreach (var rule in group.Ingress)
        {
            var protocol = FirewallRules.ParseProtocol(rule.IpProtocol);
            var hasCidr = rule.CidrIpv4.Length > 0;
            var hasGroup = rule.SourceGroupId.Length > 0;
            Ipv4Cidr? cidr = null;
            if (protocol is null)
            {
                warnings.Add($"{group.GroupId}: ip_protocol '{rule.IpProtocol}' is not tcp, udp, icmp or -1: rule ignored");
            }
            else if (hasCidr == hasGroup)
            {
                warnings.Add($"{group.GroupId}: a rule needs exactly one of cidr_ipv4 and source_group_id: rule ignored");
            }
            else if (hasCidr && !Ipv4Cidr.TryParse(rule.CidrIpv4, out cidr, bareAddressIsHost: true))
            {
                warnings.Add($"{group.GroupId}: cidr_ipv4 '{rule.CidrIpv4}' is not an IPv4 CIDR: rule ignored");
            }
            else if (protocol is RuleProtocol.Tcp or RuleProtocol.Udp && (rule.FromPort is < 0 or > 65535 || rule.ToPort is < 0 or > 65535 || rule.ToPort < rule.FromPort))
            {
                warnings.Add($"{group.GroupId}: port range {rule.FromPort}-{rule.ToPort} is not within 0-65535 in order: rule ignored");
            }
            else
            {
                rules.Add(new IngressRule(protocol.Value, rule.FromPort, rule.ToPort, cidr, hasGroup ? rule.SourceGroupId : null));
            }
        }

        var members = new List<IPAddress>();
        foreach (var member in group.MemberAddresses)
        {
            if (Ipv4Cidr.TryParseAddress(member, out var address))
            {
                members.Add(address);
            }
            else
            {
                warnings.Add($"{group.GroupId}: member address '{member}' is not IPv4: ignored");
            }
        }

        return new SecurityGroupSpec(group.GroupId, rules, members);
    }

    private static ServiceDiscoverySpec MapDiscovery(ServiceDiscovery discovery, List<string> warnings)
    {
        var sets = new List<ServiceRecordSet>();
        foreach (var record in discovery.Records)
        {
            if (!ARSoft.Tools.Net.DomainName.TryParse(record.Name, out _) || record.Name.Length == 0)
            {
                warnings.Add($"DNS record name '{record.Name}' is not a domain name: ignored");
                continue;
            }

            var ttl = record.TtlSeconds > 0 ? TimeSpan.FromSeconds(record.TtlSeconds) : (TimeSpan?)null;
            switch (record.Type)
            {
                case DnsRecordType.A:
                    var addresses = record.Addresses.Select(a => Ipv4Cidr.TryParseAddress(a, out var ip) ? ip : null).ToList();
                    if (addresses.Any(a => a is null))
                    {
                        warnings.Add($"DNS record {record.Name}: an address is not IPv4: those are ignored");
                    }

                    sets.Add(new ServiceRecordSet(record.Name, ServiceRecordKind.A, ttl, addresses.OfType<IPAddress>().ToList(), []));
                    break;
                case DnsRecordType.Srv:
                    var targets = new List<SrvAnswer>();
                    foreach (var t in record.SrvTargets)
                    {
                        if (Ipv4Cidr.TryParseAddress(t.Address, out var ip) && t.Port is > 0 and <= 65535 && ARSoft.Tools.Net.DomainName.TryParse(t.Target, out _) && t.Target.Length > 0)
                        {
                            targets.Add(new SrvAnswer(t.Target, ip, t.Port, Math.Clamp(t.Priority, 0, 65535), Math.Clamp(t.Weight, 0, 65535)));
                        }
                        else
                        {
                            warnings.Add($"DNS record {record.Name}: SRV target '{t.Target}' {t.Address}:{t.Port} is malformed: ignored");
                        }
                    }

                    sets.Add(new ServiceRecordSet(record.Name, ServiceRecordKind.Srv, ttl, [], targets));
                    break;
                default:
                    warnings.Add($"DNS record {record.Name}: type unspecified: ignored");
                    break;
            }
        }

        return new ServiceDiscoverySpec(discovery.Namespaces, sets);
    }

    private static TaskSpec MapTask(DesiredTask task, Dictionary<string, (TaskDefinition? Definition, string? Error)> definitions)
    {
        var (definition, error) = definitions.GetValueOrDefault(task.TaskDefinitionArn, (null, $"CannotParseTaskDefinition: {task.TaskDefinitionArn} was not sent"));
        var spec = new TaskSpec
        {
            TaskId = task.TaskId,
            TaskArn = task.TaskArn,
            Cluster = task.Cluster,
            TaskDefinition = FamilyRevision(task.TaskDefinitionArn),
            Containers = [],
            DesiredRunning = task.DesiredStatus != LifecycleStatus.Stopped,
            StopCode = task.StopCode switch
            {
                StopCode.UserInitiated => TaskStopCode.UserInitiated,
                StopCode.ServiceSchedulerInitiated => TaskStopCode.ServiceSchedulerInitiated,
                StopCode.EssentialContainerExited => TaskStopCode.EssentialContainerExited,
                StopCode.TaskFailedToStart => TaskStopCode.TaskFailedToStart,
                _ => TaskStopCode.None,
            },
            StoppedReason = string.IsNullOrEmpty(task.StoppedReason) ? null : task.StoppedReason,
            Credentials = task.RegistryCredentials.Select(ToCredential).ToList(),
            EnableExecuteCommand = task.EnableExecuteCommand,
            Fargate = string.Equals(task.LaunchType, "FARGATE", StringComparison.OrdinalIgnoreCase),
            Runtime = string.IsNullOrEmpty(task.Runtime) ? null : task.Runtime,
            SecurityGroups = task.AwsvpcConfiguration?.SecurityGroups.Distinct(StringComparer.Ordinal).ToList() ?? [],
        };
        if (definition is null)
        {
            return spec with { InvalidReason = error };
        }

        var overrides = task.Overrides?.ContainerOverrides.ToDictionary(o => o.Name, StringComparer.Ordinal) ?? [];
        var volumes = (definition.Volumes ?? []).Where(v => v.Name is not null).ToDictionary(v => v.Name!, StringComparer.Ordinal);
        var containers = (definition.ContainerDefinitions ?? [])
            .Select(c => MapContainer(c, task, overrides.GetValueOrDefault(c.Name ?? string.Empty)) with
            {
                Mounts = (c.MountPoints ?? []).Where(m => m.SourceVolume is not null && volumes.ContainsKey(m.SourceVolume))
                    .Select(m => MapMount(m, volumes[m.SourceVolume!], task.TaskId)).ToList(),
                Log = c.LogConfiguration is { LogDriver: { Length: > 0 } driver } log
                    ? new LogConfigSpec(driver, log.Options ?? new Dictionary<string, string>())
                    : null,
            })
            .ToList();
        spec = spec with
        {
            Containers = containers,
            CpuLimit = TaskResources.TryParseCpu(definition.Cpu, out var cpu) ? cpu : 0,
            MemoryLimit = TaskResources.TryParseMemory(definition.Memory, out var memory) ? memory : 0,
            NetworkMode = definition.NetworkMode switch
            {
                "host" or "none" or "awsvpc" => definition.NetworkMode,
                _ => null,
            },
        };

        if (spec.Fargate && FargatePolicy.Check(definition) is { } violation)
        {
            return spec with { InvalidReason = $"CannotCreateContainerError: {violation}" };
        }

        if (!spec.Awsvpc)
        {
            return spec;
        }

        // ECS awsvpc: nothing is published on the host; a hostPort, if given, must be the containerPort.
        var mismatch = (definition.ContainerDefinitions ?? []).SelectMany(c => (c.PortMappings ?? []).Select(p => (c.Name, p)))
            .FirstOrDefault(x => x.p.HostPort is > 0 && x.p.HostPort != x.p.ContainerPort);
        if (mismatch.p is { } port)
        {
            return spec with { InvalidReason = $"CannotCreateContainerError: container {mismatch.Name}: hostPort {port.HostPort} must equal containerPort {port.ContainerPort} in awsvpc network mode" };
        }

        // The sandbox goes first, and every container waits for it to have its address.
        return spec with
        {
            Containers = [ContainerSpec.Sandbox(), .. containers.Select(c => c with { Ports = [], DependsOn = [(ContainerSpec.SandboxName, DependencyCondition.NetworkReady), .. c.DependsOn] })],
        };
    }

    private static ContainerSpec MapContainer(ContainerDefinition c, DesiredTask task, ContainerOverride? o)
    {
        var name = c.Name ?? string.Empty;
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var e in c.Environment ?? [])
        {
            if (e.Name is { Length: > 0 })
            {
                environment[e.Name] = e.Value ?? string.Empty;
            }
        }

        foreach (var e in o?.Environment ?? [])
        {
            environment[e.Name] = e.Value;
        }

        var ports = (c.PortMappings ?? []).Where(p => p.ContainerPort is > 0).Select(p =>
        {
            var assigned = task.PortAssignments.FirstOrDefault(a => a.ContainerName == name && a.ContainerPort == p.ContainerPort
                && string.Equals(string.IsNullOrEmpty(a.Protocol) ? "tcp" : a.Protocol, p.EffectiveProtocol, StringComparison.OrdinalIgnoreCase));
            return new PortBindingSpec(p.ContainerPort!.Value, p.EffectiveProtocol, assigned?.HostPort ?? p.HostPort ?? 0);
        }).ToList();

        return new ContainerSpec
        {
            Name = name,
            Image = c.Image ?? string.Empty,
            Essential = c.IsEssential,
            Cpu = c.Cpu ?? 0,
            Memory = c.Memory,
            MemoryReservation = c.MemoryReservation,
            Ports = ports,
            Environment = environment,
            Command = o is { CommandSet: true } || o?.Command.Count > 0 ? o.Command.ToList() : c.Command,
            EntryPoint = c.EntryPoint,
            DependsOn = (c.DependsOn ?? [])
                .Where(d => d.ContainerName is not null)
                .Select(d => (d.ContainerName!, d.Condition?.ToUpperInvariant() switch
                {
                    "COMPLETE" => DependencyCondition.Complete,
                    "SUCCESS" => DependencyCondition.Success,
                    "HEALTHY" => DependencyCondition.Healthy,
                    _ => DependencyCondition.Start,
                }))
                .ToList(),
            HealthCheck = c.HealthCheck is { Command: { Count: > 0 } command } h && command[0] != "NONE"
                ? new HealthCheckSpec(
                    command,
                    TimeSpan.FromSeconds(h.Interval ?? 30),
                    TimeSpan.FromSeconds(h.Timeout ?? 5),
                    h.Retries ?? 3,
                    TimeSpan.FromSeconds(h.StartPeriod ?? 0))
                : null,
            StopTimeout = c.StopTimeout is { } seconds ? TimeSpan.FromSeconds(seconds) : null,
        };
    }

    /// <summary>
    /// ECS volume kinds as Docker mounts: <c>host.sourcePath</c> binds the host path; <c>dockerVolumeConfiguration</c> with
    /// <c>shared</c> scope uses the volume by its own name (created only with <c>autoprovision</c>); anything else (task
    /// scope, or a volume with no source) is a volume of this task alone, named after it and removed with it.
    /// </summary>
    private static MountSpec MapMount(Berth.Core.TaskDefinitions.MountPoint mount, VolumeDefinition volume, string taskId)
    {
        var target = mount.ContainerPath ?? "/";
        var readOnly = mount.ReadOnly ?? false;
        if (volume.Host?.SourcePath is { Length: > 0 } source)
        {
            return new MountSpec(MountKind.Bind, source, target, readOnly);
        }

        var docker = volume.DockerVolumeConfiguration;
        var labels = new Dictionary<string, string>(docker?.Labels ?? [], StringComparer.Ordinal);
        var shared = docker?.EffectiveScope == "shared";
        if (!shared)
        {
            labels[ContainerLabels.TaskId] = taskId;
        }

        // The per-task name is built like a container name: deterministic, so a restarted agent finds the same volume.
        return new MountSpec(MountKind.Volume, shared ? volume.Name! : TaskEngine.ContainerName(taskId, volume.Name!), target, readOnly)
        {
            Driver = docker?.Driver,
            DriverOptions = docker?.DriverOpts ?? new Dictionary<string, string>(),
            Labels = labels,
            MustExist = shared && docker?.Autoprovision != true,
        };
    }

    private static RegistryCredential ToCredential(ProtoCredential c) => new(c.Registry, c.Username, c.Password);

    /// <summary><c>arn:...:task-definition/web:3</c> -> <c>web:3</c>; anything else as it is.</summary>
    private static string FamilyRevision(string arn)
    {
        var slash = arn.LastIndexOf('/');
        return slash >= 0 ? arn[(slash + 1)..] : arn;
    }
}
