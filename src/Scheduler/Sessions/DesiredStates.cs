using Berth.Scheduler.ControlPlane;
using Berth.Scheduler.Discovery;
using Berth.Scheduler.Kernel;
using Berth.Scheduler.Placement;
using Berth.Scheduler.SecurityGroups;
using Berth.Scheduler.V1;
using Google.Protobuf;

namespace Berth.Scheduler.Sessions;

/// <summary>
/// Builds each instance's desired state for its session as a <see cref="DesiredStateFrame"/>: every task's
/// <see cref="DesiredTask"/> and every task definition's document are encoded once and cached on their records (the
/// records drop the cache when a field it carries changes), so a push only concatenates bytes.
/// </summary>
internal sealed class DesiredStates(StateKernel kernel)
{
    /// <summary>
    /// The instance's complete desired task set, or null when its version is not newer than <paramref name="sentVersion"/>.
    /// Under the cluster's lock only references to cached encodings are collected; the bytes are assembled by the caller.
    /// </summary>
    public DesiredStateFrame? Build(string instanceId, long sentVersion) =>
        kernel.ReadInstance(instanceId, (cluster, instance) =>
        {
            if (instance is null || instance.DesiredVersion <= sentVersion)
            {
                return null;
            }

            var tasks = new List<byte[]>(instance.Tasks.Count);
            var definitions = new List<byte[]>(1);
            var sources = new List<DesiredDefinition>(1);
            TaskDefinitionRecord? last = null;
            HashSet<TaskDefinitionRecord>? seen = null;
            var awsvpc = false;
            HashSet<string>? groups = null;
            foreach (var task in instance.Tasks)
            {
                if (!task.Durable)
                {
                    continue;
                }

                tasks.Add(task.DesiredEncoding ??= Encode(task, instance.TaskSubnet).ToByteArray());
                if (task.Definition.Definition.NetworkMode == "awsvpc")
                {
                    awsvpc = true;
                    if (cluster is { SecurityGroups.Count: > 0 } && !task.SecurityGroups.IsEmpty)
                    {
                        (groups ??= new(StringComparer.Ordinal)).UnionWith(task.SecurityGroups);
                    }
                }

                // Most sets use one definition: compare with the previous one before paying for a set.
                if (ReferenceEquals(task.Definition, last))
                {
                    continue;
                }

                last = task.Definition;
                seen ??= [];
                if (seen.Add(task.Definition))
                {
                    definitions.Add(EncodedDocument(task.Definition));
                    sources.Add(new DesiredDefinition(task.Definition.Arn, task.Definition.DescribedJson));
                }
            }

            var trailing = new List<byte[]>(2);
            if (cluster is not null)
            {
                // Only a host that runs awsvpc tasks is given its network: the agent then builds a bridge, routes and
                // firewall rules on the host, which a host running only bridge- and host-mode tasks should not get.
                if (awsvpc && HostNetworkField(cluster, instance) is { } network)
                {
                    trailing.Add(network);
                }

                if (groups is not null)
                {
                    trailing.AddRange(SecurityGroupFields(cluster, groups));
                }

                trailing.Add(DiscoveryField(cluster));
            }

            return new DesiredStateFrame(instance.DesiredVersion, instance.Id, WireConvert.ToWire(instance.Status), tasks, definitions, sources, trailing);
        });

    /// <summary>The same state as a message (tests and tools).</summary>
    public DesiredState? BuildMessage(string instanceId, long sentVersion) => Build(instanceId, sentVersion)?.ToMessage();

    /// <summary>
    /// The instance's <c>host_network</c> field (tag included): its task subnet, the cluster's CIDR and a route to every
    /// other live host's subnet through that host's address. Null while the instance has no subnet (the agent then keeps
    /// its own configuration). Every host's entry depends on all hosts, so it is cached per instance and rebuilt when the
    /// cluster's <see cref="ClusterState.NetworkGeneration"/> moves.
    /// </summary>
    private static byte[]? HostNetworkField(ClusterState cluster, InstanceRecord instance)
    {
        if (instance.TaskSubnet is null || cluster.Record?.TaskCidr is not { } cidr)
        {
            return null;
        }

        if (instance.EdgeNetwork is HostNetworkCache cached && cached.Generation == cluster.NetworkGeneration && cached.Subnet == instance.TaskSubnet)
        {
            return cached.Bytes;
        }

        var network = new HostNetwork { TaskSubnet = instance.TaskSubnet, ClusterCidr = cidr };
        foreach (var peer in cluster.Instances.Values.OrderBy(i => i.TaskSubnet, StringComparer.Ordinal))
        {
            if (!ReferenceEquals(peer, instance) && peer.Status != InstanceStatus.Inactive && peer.TaskSubnet is { } subnet && !string.IsNullOrEmpty(peer.HostAddress))
            {
                network.PeerRoutes.Add(new PeerRoute { Subnet = subnet, Via = peer.HostAddress, ContainerInstanceId = peer.Id });
            }
        }

        var field = new DesiredState { HostNetwork = network }.ToByteArray();
        instance.EdgeNetwork = new HostNetworkCache(cluster.NetworkGeneration, instance.TaskSubnet, field);
        return field;
    }

    /// <summary>
    /// The <c>security_groups</c> fields (tag included, one per group) a host needs: the groups its awsvpc tasks belong to
    /// and every group their rules name as a source, as last published (<see cref="ClusterState.PublishedSecurityGroups"/>),
    /// each encoded once per <see cref="ClusterState.SecurityGroupGeneration"/>; ordered by id.
    /// </summary>
    private static List<byte[]> SecurityGroupFields(ClusterState cluster, HashSet<string> joined)
    {
        Dictionary<string, (PublishedSecurityGroup Group, byte[] Bytes)> encoded;
        if (cluster.PublishedSecurityGroups is { } published)
        {
            if (cluster.EdgeSecurityGroups is SecurityGroupCache cached && cached.Generation == cluster.SecurityGroupGeneration && ReferenceEquals(cached.Published, published))
            {
                encoded = cached.Groups;
            }
            else
            {
                encoded = EncodeGroups(published);
                cluster.EdgeSecurityGroups = new SecurityGroupCache(cluster.SecurityGroupGeneration, published, encoded);
            }
        }
        else
        {
            // Not published yet since the scheduler started (the first host to connect publishes): read the records.
            encoded = EncodeGroups(SecurityGroupMembership.Of(cluster));
        }

        var needed = new SortedSet<string>(joined, StringComparer.Ordinal);
        foreach (var id in joined)
        {
            if (encoded.TryGetValue(id, out var entry))
            {
                foreach (var rule in entry.Group.Ingress)
                {
                    if (rule.SourceGroupId is { } source)
                    {
                        needed.Add(source);
                    }
                }
            }
        }

        var fields = new List<byte[]>(needed.Count);
        foreach (var id in needed)
        {
            if (encoded.TryGetValue(id, out var entry))
            {
                fields.Add(entry.Bytes);
            }
        }

        return fields;
    }

    private static Dictionary<string, (PublishedSecurityGroup Group, byte[] Bytes)> EncodeGroups(IReadOnlyList<PublishedSecurityGroup> groups)
    {
        var encoded = new Dictionary<string, (PublishedSecurityGroup, byte[])>(groups.Count, StringComparer.Ordinal);
        foreach (var group in groups)
        {
            var message = new SecurityGroup { GroupId = group.Id, GroupName = group.Name, MemberAddresses = { group.Members } };
            foreach (var rule in group.Ingress)
            {
                message.Ingress.Add(new SecurityGroupRule
                {
                    IpProtocol = rule.Protocol,
                    FromPort = rule.FromPort,
                    ToPort = rule.ToPort,
                    CidrIpv4 = rule.SourceCidr ?? "",
                    SourceGroupId = rule.SourceGroupId ?? "",
                    Description = rule.Description,
                });
            }

            encoded[group.Id] = (group, new DesiredState { SecurityGroups = { message } }.ToByteArray());
        }

        return encoded;
    }

    /// <summary>
    /// The cluster's <c>service_discovery</c> field (tag included): its namespace and every record set. The same for every
    /// host of the cluster, so encoded once per <see cref="ClusterState.DiscoveryGeneration"/>. Always set, so that an
    /// agent's DNS server drops records the cluster no longer has.
    /// </summary>
    private static byte[] DiscoveryField(ClusterState cluster)
    {
        if (cluster.EdgeDiscovery is DiscoveryCache cached && cached.Generation == cluster.DiscoveryGeneration)
        {
            return cached.Bytes;
        }

        var discovery = new ServiceDiscovery { Namespaces = { DiscoveryRecords.Namespace(cluster.Name) } };
        foreach (var set in DiscoveryRecords.Of(cluster))
        {
            var records = new DnsRecordSet { Name = set.Name, Type = set.Type == DiscoveryRecordType.A ? DnsRecordType.A : DnsRecordType.Srv };
            records.Addresses.AddRange(set.Addresses);
            records.SrvTargets.AddRange(set.Targets.Select(t => new SrvTarget { Target = t.Target, Address = t.Address, Port = t.Port }));
            discovery.Records.Add(records);
        }

        var bytes = new DesiredState { ServiceDiscovery = discovery }.ToByteArray();
        cluster.EdgeDiscovery = new DiscoveryCache(cluster.DiscoveryGeneration, bytes);
        return bytes;
    }

    /// <summary>A task's entry of its instance's desired state; <paramref name="subnet"/> is the instance's task subnet.</summary>
    public static DesiredTask Encode(TaskRecord t, string? subnet = null)
    {
        var desired = new DesiredTask
        {
            TaskId = t.Id,
            TaskArn = t.Arn,
            Cluster = t.Cluster,
            TaskDefinitionArn = t.Definition.Arn,
            DesiredStatus = WireConvert.ToWire(t.DesiredStatus),
            Overrides = WireConvert.ToWire(t.Overrides),
            Group = t.Group,
            StartedBy = t.StartedBy,
            Cpu = t.Reservation.Cpu,
            Memory = t.Reservation.Memory,
            StoppedReason = t.StoppedReason,
            StopCode = WireConvert.ToWire(t.StopCode),
            CreatedAt = WireConvert.ToWire(t.CreatedAt),
            LaunchType = t.LaunchType == "EC2" ? "" : t.LaunchType,
            EnableExecuteCommand = t.EnableExecuteCommand,
        };
        if (t.Definition.Definition.NetworkMode == "awsvpc")
        {
            desired.AwsvpcConfiguration = new AwsvpcConfiguration { Subnet = subnet ?? "", SecurityGroups = { t.SecurityGroups } };
        }

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

    /// <summary>The agents' <see cref="TaskDefinitionDocument"/> of a revision, rebuilt when its described document changes.</summary>
    private static byte[] EncodedDocument(TaskDefinitionRecord definition)
    {
        var json = definition.DescribedJson;
        if (definition.EdgeDocument is EncodedDocumentCache cached && ReferenceEquals(cached.Json, json))
        {
            return cached.Bytes;
        }

        var bytes = new TaskDefinitionDocument { TaskDefinitionArn = definition.Arn, TaskDefinitionJson = json }.ToByteArray();
        definition.EdgeDocument = new EncodedDocumentCache(json, bytes);
        return bytes;
    }

    private sealed record EncodedDocumentCache(string Json, byte[] Bytes);

    private sealed record HostNetworkCache(long Generation, string Subnet, byte[] Bytes);

    private sealed record DiscoveryCache(long Generation, byte[] Bytes);

    private sealed record SecurityGroupCache(long Generation, IReadOnlyList<PublishedSecurityGroup> Published, Dictionary<string, (PublishedSecurityGroup Group, byte[] Bytes)> Groups);
}
