using System.Collections.Immutable;
using Berth.Scheduler.Placement;

namespace Berth.Scheduler.Kernel;

/// <summary>
/// One cluster's records and indexes: its instances, tasks, services, client tokens and the placement engine's immutable
/// snapshot with every reservation applied. Guarded by the cluster's own lock, which only the <see cref="StateKernel"/>
/// takes: a handler sees a cluster only inside <see cref="StateKernel.ReadCluster{T}"/> or
/// <see cref="StateKernel.CommitAsync{T}(string, Func{ClusterTransaction, T}, bool)"/>, and changes it through the
/// <see cref="ClusterTransaction"/> it is given, which keeps the indexes, the durable writes and the change feed together.
/// Operations on different clusters never wait for each other.
/// </summary>
internal sealed class ClusterState
{
    private readonly Dictionary<string, List<TaskRecord>> _byClientToken = new(StringComparer.Ordinal);

    // STOPPED tasks in the order they stopped, for bounded state: they leave memory some time after.
    private readonly Queue<TaskRecord> _stopped = new();

    internal ClusterState(string name)
    {
        Name = name;
        Snapshot = ClusterSnapshot.Create(name, []);
    }

    /// <summary>The cluster's lock; the kernel's alone.</summary>
    internal Lock Gate { get; } = new();

    /// <summary>The cluster's committed changes on their way to the change feed, in commit order.</summary>
    internal PublishQueue Feed { get; } = new();

    public string Name { get; }

    /// <summary>The cluster record; null for a name nothing created yet.</summary>
    public ClusterRecord? Record { get; internal set; }

    public bool IsActive => Record?.Status == Statuses.Active;

    /// <summary>
    /// Grows whenever a host's task subnet, address or membership changes (Networking): every host's routes to its peers
    /// depend on all of them, so the agent edge rebuilds its cached host-network entries when this moves.
    /// </summary>
    public long NetworkGeneration { get; set; }

    /// <summary>Grows whenever the cluster's service discovery records change (Discovery); the records go to every host.</summary>
    public long DiscoveryGeneration { get; set; }

    /// <summary>A cache slot of the agent edge (Sessions): the encoded discovery records of a generation. The state only holds it.</summary>
    public object? EdgeDiscovery { get; set; }

    /// <summary>
    /// Grows whenever what hosts are sent about security groups changes (a group's rules, or the addresses of its member
    /// tasks; SecurityGroups/SecurityGroupObserver): every host of the cluster then gets a new desired state.
    /// </summary>
    public long SecurityGroupGeneration { get; set; }

    /// <summary>
    /// The groups as last published (with <see cref="SecurityGroupGeneration"/>): what the observer compared, so every push
    /// of a generation carries exactly that. Null until the first publication after start (pushes then read the records).
    /// </summary>
    public IReadOnlyList<PublishedSecurityGroup>? PublishedSecurityGroups { get; set; }

    /// <summary>A cache slot of the agent edge (Sessions): the encoded groups of a generation. The state only holds it.</summary>
    public object? EdgeSecurityGroups { get; set; }

    /// <summary>
    /// The awsvpc tasks that are not STOPPED (an index: security group members are found among them, so a cluster of
    /// many bridge-mode tasks costs nothing to compare).
    /// </summary>
    public HashSet<TaskRecord> AwsvpcTasks { get; } = [];

    /// <summary>Security groups by id (the cluster is their VPC).</summary>
    public Dictionary<string, SecurityGroupRecord> SecurityGroups { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, InstanceRecord> Instances { get; } = new(StringComparer.Ordinal);

    /// <summary>Every task in memory: live ones, and STOPPED ones until they leave (bounded state).</summary>
    public Dictionary<string, TaskRecord> Tasks { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// The tasks waiting in PROVISIONING for a capacity provider's host, oldest first (they are placed in creation order).
    /// An index: a pass over them never scans the cluster's tasks.
    /// </summary>
    public SortedSet<TaskRecord> Provisioning { get; } = new(ByCreation.Instance);

    /// <summary>Services by name, INACTIVE ones included until they leave.</summary>
    public Dictionary<string, ServiceRecord> Services { get; } = new(StringComparer.Ordinal);

    /// <summary>Load balancers, listeners, rules and target groups of the cluster, and what balancers report about them.</summary>
    public LoadBalancingState LoadBalancing { get; } = new();

    /// <summary>Scalable targets (service auto scaling) by service name.</summary>
    public Dictionary<string, ScalableTargetRecord> ScalableTargets { get; } = new(StringComparer.Ordinal);

    /// <summary>Host groups (auto scaling groups) by name.</summary>
    public Dictionary<string, HostGroupRecord> HostGroups { get; } = new(StringComparer.Ordinal);

    /// <summary>Capacity providers (wrapping host groups of this cluster) by name.</summary>
    public Dictionary<string, CapacityProviderRecord> CapacityProviders { get; } = new(StringComparer.Ordinal);

    /// <summary>The placement view of the cluster, every non-STOPPED task's reservation applied.</summary>
    public ClusterSnapshot Snapshot { get; private set; }

    /// <summary>Throws NOT_FOUND unless the cluster exists and is ACTIVE.</summary>
    public void RequireActive()
    {
        if (!IsActive)
        {
            throw StateException.NotFound($"Cluster '{Name}' not found.");
        }
    }

    /// <summary>The tasks a RunTask with this client token started, or null.</summary>
    public IReadOnlyList<TaskRecord>? TasksWithClientToken(string token) => _byClientToken.GetValueOrDefault(token);

    /// <summary>An instance of this cluster by id or ARN; NOT_FOUND otherwise.</summary>
    public InstanceRecord Instance(string reference) =>
        Instances.TryGetValue(Arns.Id(reference), out var instance)
            ? instance
            : throw StateException.NotFound($"Container instance '{reference}' not found in cluster '{Name}'.");

    /// <summary>An instance's placement view (its base view when it is not in the snapshot: INACTIVE).</summary>
    public ContainerInstanceView ViewOf(InstanceRecord instance) => Snapshot.Find(instance.Id) ?? BaseView(instance);

    internal void AddInstance(InstanceRecord instance)
    {
        Instances[instance.Id] = instance;
        RefreshView(instance);
    }

    internal void AddTask(TaskRecord task, ServiceRecord? service)
    {
        Tasks[task.Id] = task;
        if (task.LastStatus != LifecycleStatus.Stopped)
        {
            if (Instances.TryGetValue(task.InstanceId, out var instance))
            {
                instance.Tasks.Add(task);
            }

            service?.Tasks.Add(task);
            if (task.LastStatus == LifecycleStatus.Provisioning)
            {
                Provisioning.Add(task);
            }

            if (task.Definition.Definition.NetworkMode == "awsvpc")
            {
                AwsvpcTasks.Add(task);
            }
        }
        else
        {
            _stopped.Enqueue(task);
        }

        if (task.ClientToken is { } token)
        {
            if (!_byClientToken.TryGetValue(token, out var list))
            {
                _byClientToken[token] = list = [];
            }

            list.Add(task);
        }
    }

    internal void AdoptSnapshot(ClusterSnapshot successor) => Snapshot = successor;

    /// <summary>A PROVISIONING task was placed (its fields set, its reservation in the adopted snapshot): it joins its instance.</summary>
    internal void Placed(TaskRecord task, InstanceRecord instance)
    {
        Provisioning.Remove(task);
        instance.Tasks.Add(task);
    }

    /// <summary>A task became STOPPED: it leaves its instance's set and gives its reservation back.</summary>
    internal void Release(TaskRecord task)
    {
        AwsvpcTasks.Remove(task);
        Provisioning.Remove(task);
        if (Instances.TryGetValue(task.InstanceId, out var instance) && instance.Tasks.Remove(task) && Snapshot.Find(instance.Id) is not null)
        {
            Snapshot = Snapshot.WithTaskStopped(instance.Id, task.Reservation);
        }

        _stopped.Enqueue(task);
    }

    /// <summary>Replaces an instance's view in the snapshot, keeping what its tasks reserve.</summary>
    internal void RefreshView(InstanceRecord instance)
    {
        if (instance.Status == InstanceStatus.Inactive)
        {
            Snapshot = Snapshot.WithoutInstance(instance.Id);
            return;
        }

        var current = Snapshot.Find(instance.Id);
        var fresh = BaseView(instance);
        if (current is null)
        {
            // New (or reactivated) instance: its task aggregates come from the records.
            Snapshot = Snapshot.WithInstance(fresh);
            foreach (var task in instance.Tasks)
            {
                Snapshot = Snapshot.WithTaskStarted(instance.Id, task.Reservation);
            }

            return;
        }

        Snapshot = Snapshot.WithInstance(current with
        {
            Status = fresh.Status,
            AgentConnected = fresh.AgentConnected,
            AgentVersion = fresh.AgentVersion,
            Attributes = fresh.Attributes,
            RegisteredCpu = fresh.RegisteredCpu,
            RegisteredMemory = fresh.RegisteredMemory,
            RemainingCpu = current.RemainingCpu + (fresh.RegisteredCpu - current.RegisteredCpu),
            RemainingMemory = current.RemainingMemory + (fresh.RegisteredMemory - current.RegisteredMemory),
        });
    }

    /// <summary>Builds the snapshot from the records (start-up), with every non-stopped task's reservation applied.</summary>
    internal void RebuildSnapshot()
    {
        var views = new List<ContainerInstanceView>();
        foreach (var instance in Instances.Values)
        {
            if (instance.Status == InstanceStatus.Inactive)
            {
                continue;
            }

            var view = BaseView(instance);
            int cpu = 0, memory = 0;
            // One PortSet built from all ports at once: adding task by task would copy the set's pages per task.
            var ports = new List<HostPort>(view.UsedPorts);
            var groups = ImmutableDictionary.CreateBuilder<string, int>(StringComparer.Ordinal);
            foreach (var task in instance.Tasks)
            {
                cpu += task.Reservation.Cpu;
                memory += task.Reservation.Memory;
                ports.AddRange(task.Reservation.HostPorts);
                if (task.Reservation.Group is { } group)
                {
                    groups[group] = groups.GetValueOrDefault(group) + 1;
                }
            }

            views.Add(view with
            {
                RemainingCpu = view.RegisteredCpu - cpu,
                RemainingMemory = view.RegisteredMemory - memory,
                UsedPorts = PortSet.Of(ports),
                TaskGroupCounts = groups.ToImmutable(),
                RunningTasksCount = instance.Tasks.Count,
            });
        }

        Snapshot = ClusterSnapshot.Create(Name, views);
    }

    /// <summary>
    /// Takes STOPPED tasks that stopped before <paramref name="before"/> out of memory (at most <paramref name="limit"/>),
    /// and INACTIVE services and instances that ended before it. Their rows stay until the retention removes them.
    /// </summary>
    internal int EvictEnded(DateTimeOffset before, int limit, List<string> evictedInstances)
    {
        var evicted = 0;
        while (evicted < limit && _stopped.TryPeek(out var task) && (task.StoppedAt ?? DateTimeOffset.MinValue) < before)
        {
            _stopped.Dequeue();
            // A task can be queued twice (loaded STOPPED, then reported again); it leaves once, and only if still STOPPED.
            if (task.LastStatus == LifecycleStatus.Stopped && Tasks.TryGetValue(task.Id, out var current) && ReferenceEquals(current, task))
            {
                Tasks.Remove(task.Id);
                if (task.ClientToken is { } token && _byClientToken.TryGetValue(token, out var list) && list.Remove(task) && list.Count == 0)
                {
                    _byClientToken.Remove(token);
                }

                evicted++;
            }
        }

        if (evicted < limit)
        {
            foreach (var service in Services.Values.Where(s => s.Status == Statuses.Inactive && s.InactiveAt < before).Take(limit - evicted).ToList())
            {
                Services.Remove(service.Name);
                evicted++;
            }
        }

        if (evicted < limit)
        {
            foreach (var instance in Instances.Values.Where(i => i.Status == InstanceStatus.Inactive && i.DeregisteredAt < before && i.Tasks.Count == 0).Take(limit - evicted).ToList())
            {
                Instances.Remove(instance.Id);
                evictedInstances.Add(instance.Id);
                evicted++;
            }
        }

        return evicted;
    }

    /// <summary>Orders the STOPPED tasks loaded at start-up (in no order) by when they stopped.</summary>
    internal void SortStopped()
    {
        if (_stopped.Count < 2)
        {
            return;
        }

        var sorted = _stopped.OrderBy(t => t.StoppedAt ?? DateTimeOffset.MinValue).ToList();
        _stopped.Clear();
        foreach (var task in sorted)
        {
            _stopped.Enqueue(task);
        }
    }

    /// <summary>STOPPED tasks still in memory (diagnostics and tests).</summary>
    public int StoppedInMemory => _stopped.Count;

    /// <summary>The placement view of an instance without any task.</summary>
    public static ContainerInstanceView BaseView(InstanceRecord instance)
    {
        var facts = instance.Facts;
        var reserved = facts.ReservedPorts.Select(p => new HostPort(p, TransportProtocol.Tcp))
            .Concat(facts.ReservedPortsUdp.Select(p => new HostPort(p, TransportProtocol.Udp)));
        return new ContainerInstanceView
        {
            InstanceId = instance.Id,
            Cluster = instance.Cluster,
            Status = instance.Status,
            AgentConnected = instance.AgentConnected,
            AgentVersion = string.IsNullOrEmpty(facts.AgentVersion) ? null : facts.AgentVersion,
            RegisteredAt = instance.RegisteredAt,
            Attributes = AttributesOf(instance).ToImmutableDictionary(a => a.Key, a => (string?)a.Value, StringComparer.Ordinal),
            RegisteredCpu = facts.Cpu,
            RegisteredMemory = facts.Memory,
            RemainingCpu = facts.Cpu,
            RemainingMemory = facts.Memory,
            UsedPorts = PortSet.Of(reserved),
        };
    }

    /// <summary>
    /// Custom attributes, then the built-in ones from the host facts, names canonical (<c>berth.*</c>). Built-ins come
    /// last so that no custom attribute (stored before they were refused) can stand in for one.
    /// </summary>
    public static SortedDictionary<string, string> AttributesOf(InstanceRecord instance)
    {
        var facts = instance.Facts;
        var attributes = new SortedDictionary<string, string>(instance.CustomAttributes, StringComparer.Ordinal)
        {
            [Core.ClusterQuery.AttributeNames.OsType] = string.IsNullOrEmpty(facts.OsType) ? "linux" : facts.OsType,
            [Core.ClusterQuery.AttributeNames.CpuArchitecture] = string.IsNullOrEmpty(facts.CpuArchitecture) ? "x86_64" : facts.CpuArchitecture,
        };
        if (!string.IsNullOrEmpty(facts.Zone))
        {
            attributes[Core.ClusterQuery.AttributeNames.Zone] = facts.Zone;
        }
        else
        {
            attributes.Remove(Core.ClusterQuery.AttributeNames.Zone);
        }

        if (!string.IsNullOrEmpty(facts.InstanceType))
        {
            attributes[Core.ClusterQuery.AttributeNames.InstanceType] = facts.InstanceType;
        }
        else
        {
            attributes.Remove(Core.ClusterQuery.AttributeNames.InstanceType);
        }

        // A capability, as ECS has it: the name alone says the host can give awsvpc tasks addresses.
        if (instance.TaskSubnet is not null)
        {
            attributes[Core.ClusterQuery.AttributeNames.TaskEni] = "";
        }
        else
        {
            attributes.Remove(Core.ClusterQuery.AttributeNames.TaskEni);
        }

        return attributes;
    }

    /// <summary>Orders waiting tasks by creation, then id (two created in one millisecond keep one order).</summary>
    private sealed class ByCreation : IComparer<TaskRecord>
    {
        public static readonly ByCreation Instance = new();

        public int Compare(TaskRecord? x, TaskRecord? y)
        {
            if (ReferenceEquals(x, y))
            {
                return 0;
            }

            var byTime = x!.CreatedAt.CompareTo(y!.CreatedAt);
            return byTime != 0 ? byTime : string.CompareOrdinal(x.Id, y.Id);
        }
    }
}
