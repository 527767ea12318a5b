using Berth.Scheduler.Placement;

namespace Berth.Scheduler.Kernel;

/// <summary>
/// A change of one cluster, made under its lock: handlers read <see cref="Cluster"/> and change it through these
/// methods, which keep the indexes (instance task sets, service task sets, client tokens, the placement snapshot), the
/// durable writes and the change feed in step. The kernel queues the writes when the handler returns, and applies the
/// effects that must wait for durability (tasks becoming visible to agents, new desired-state versions) after it.
/// </summary>
internal sealed class ClusterTransaction : Transaction
{
    // Made on first use, like the writes.
    private HashSet<InstanceRecord>? _desiredChanged;
    private List<TaskRecord>? _published;
    private HashSet<string>? _instances;
    private HashSet<string>? _lostHosts;
    private bool _hostNetworkPublished;

    internal ClusterTransaction(StateKernel kernel, ClusterState cluster)
        : base(kernel) => Cluster = cluster;

    /// <summary>The cluster's records and indexes (read them; change them through this transaction).</summary>
    public ClusterState Cluster { get; }

    /// <summary>Creates the cluster record, or reactivates an INACTIVE one; true when it changed.</summary>
    public bool EnsureCluster()
    {
        if (Cluster.Record is null)
        {
            Cluster.Record = new ClusterRecord { Name = Cluster.Name, CreatedAt = Now };
        }
        else if (Cluster.Record.Status != Statuses.Active)
        {
            Cluster.Record.Status = Statuses.Active;
            Cluster.Record.CreatedAt = Now;
            // A cluster created again under a deleted one's name starts without its capacity providers, as ECS's would.
            Cluster.Record.CapacityProviders = [];
            Cluster.Record.DefaultStrategy = [];
        }
        else
        {
            return false;
        }

        Save(Cluster.Record);
        return true;
    }

    /// <summary>Adds a new instance (stored, in the snapshot, and in the kernel's instance index).</summary>
    public void AddInstance(InstanceRecord instance)
    {
        Cluster.AddInstance(instance);
        Kernel.IndexInstance(instance.Id, Cluster.Name);
        Save(instance);
    }

    /// <summary>An instance changed what placement sees (status, agent connection, facts, attributes); stored when <paramref name="save"/>.</summary>
    public void InstanceChanged(InstanceRecord instance, bool save = true)
    {
        Cluster.RefreshView(instance);
        (_instances ??= new(StringComparer.Ordinal)).Add(instance.Id);
        if (save)
        {
            Save(instance);
        }
    }

    /// <summary>
    /// The cluster's host addressing (task subnets, host addresses, live hosts) was published anew
    /// (<see cref="ClusterState.NetworkGeneration"/> moved): the commit says so, and balancers' task routes follow.
    /// </summary>
    public void HostNetworkPublished() => _hostNetworkPublished = true;

    /// <summary>The instance's desired task set changed: once durable, it gets a new version and its agent the new set.</summary>
    public void DesiredChanged(InstanceRecord instance) => (_desiredChanged ??= []).Add(instance);

    /// <summary>Makes a placement's successor snapshot (its reservations applied) the cluster's.</summary>
    public void AdoptPlacement(ClusterSnapshot successor) => Cluster.AdoptSnapshot(successor);

    /// <summary>
    /// Adds a placed task (its reservation already in the adopted snapshot) to its instance's set, its service's and the
    /// client-token index, and stores it; agents see it only once it is durable.
    /// </summary>
    public void AddTask(TaskRecord task, ServiceRecord? service = null)
    {
        Cluster.AddTask(task, service);
        (_published ??= []).Add(task);
        Save(task);
    }

    /// <summary>
    /// A PROVISIONING task was placed (the caller set its instance, ports, reservation and status, and adopted the
    /// placement's snapshot): it joins its instance's set and is stored; like a new task, its agent hears of it only once
    /// that is durable.
    /// </summary>
    public void TaskPlaced(TaskRecord task, InstanceRecord instance)
    {
        Cluster.Placed(task, instance);
        task.Durable = false;
        (_published ??= []).Add(task);
        Save(task);
    }

    /// <summary>
    /// A task became STOPPED (the caller set its fields): it leaves its instance's desired set and its service, gives its
    /// reservation back, and is stored; its instance's agent gets the new set once durable.
    /// </summary>
    public void TaskStopped(TaskRecord task)
    {
        Cluster.Release(task);
        if (task.Group.StartsWith("service:", StringComparison.Ordinal)
            && Cluster.Services.TryGetValue(task.Group["service:".Length..], out var service)
            && service.TaskStopped(task, Now))
        {
            Save(service);
        }

        if (Cluster.Instances.TryGetValue(task.InstanceId, out var instance))
        {
            DesiredChanged(instance);
        }

        Save(task);
    }

    /// <summary>A service was created or re-created under a name (replacing an INACTIVE one).</summary>
    public void AddService(ServiceRecord service)
    {
        Cluster.Services[service.Name] = service;
        Save(service);
    }

    /// <summary>Adds or replaces a load-balancing record (indexed and stored).</summary>
    public void PutLoadBalancing(LoadBalancingObject record)
    {
        Cluster.LoadBalancing.Put(record);
        Save(record);
    }

    /// <summary>Removes a load-balancing record (from the index and the store).</summary>
    public void RemoveLoadBalancing(string arn)
    {
        Cluster.LoadBalancing.Remove(arn);
        DeleteLoadBalancing(arn);
    }

    /// <summary>Adds or replaces a service's scalable target (indexed and stored).</summary>
    public void PutScalableTarget(ScalableTargetRecord target)
    {
        Cluster.ScalableTargets[target.ServiceName] = target;
        Save(target);
    }

    /// <summary>Removes a service's scalable target, if it has one; true when it had.</summary>
    public bool RemoveScalableTarget(string service)
    {
        if (!Cluster.ScalableTargets.Remove(service))
        {
            return false;
        }

        DeleteScalableTarget(Cluster.Name, service);
        return true;
    }

    /// <summary>Adds or replaces a security group (indexed and stored; hosts hear of it through the change feed).</summary>
    public void PutSecurityGroup(SecurityGroupRecord group)
    {
        Cluster.SecurityGroups[group.Id] = group;
        Save(group);
    }

    /// <summary>Removes a security group (from the index and the store).</summary>
    public void RemoveSecurityGroup(string id)
    {
        Cluster.SecurityGroups.Remove(id);
        DeleteSecurityGroup(id);
    }

    /// <summary>Adds or replaces a host group (indexed and stored).</summary>
    public void PutHostGroup(HostGroupRecord group)
    {
        Cluster.HostGroups[group.Name] = group;
        Save(group);
    }

    /// <summary>Removes a host group; true when it was there.</summary>
    public bool RemoveHostGroup(string name)
    {
        if (!Cluster.HostGroups.Remove(name))
        {
            return false;
        }

        DeleteHostGroup(Cluster.Name, name);
        return true;
    }

    /// <summary>Adds or replaces a capacity provider (indexed and stored).</summary>
    public void PutCapacityProvider(CapacityProviderRecord provider)
    {
        Cluster.CapacityProviders[provider.Name] = provider;
        Save(provider);
    }

    /// <summary>Removes a capacity provider; true when it was there.</summary>
    public bool RemoveCapacityProvider(string name)
    {
        if (!Cluster.CapacityProviders.Remove(name))
        {
            return false;
        }

        DeleteCapacityProvider(Cluster.Name, name);
        return true;
    }

    /// <summary>The instance's tasks became UNKNOWN (declared lost) or stopped being UNKNOWN.</summary>
    public void LostHostChanged(string instanceId) => (_lostHosts ??= new(StringComparer.Ordinal)).Add(instanceId);

    internal override void ApplyDurableEffects()
    {
        foreach (var task in _published ?? [])
        {
            task.Durable = true;
            if (Cluster.Instances.TryGetValue(task.InstanceId, out var instance))
            {
                DesiredChanged(instance);
            }
        }

        // A fresh version, not a task's own sequence: another change of this instance may have become durable (and been
        // pushed) first, and a version the agent already has would hide this one.
        foreach (var instance in _desiredChanged ?? [])
        {
            instance.DesiredVersion = NextSeq();
        }
    }

    internal bool HasDurableEffects => _published is not null || _desiredChanged is not null;

    internal override CommittedChange? Describe(long sequence)
    {
        if (!HasWrites && _instances is null && _desiredChanged is null && _published is null && _lostHosts is null && !LoadBalancingChanged && !SecurityGroupsChanged && !_hostNetworkPublished)
        {
            return null;
        }

        var tasks = HasWrites && Writes.Tasks.Count > 0 ? Writes.Tasks.ConvertAll(t => new TaskView(t.Id, t.InstanceId, t.Group, t.DesiredStatus, t.LastStatus, t.Ports)) : [];
        var instances = _instances ?? new HashSet<string>(StringComparer.Ordinal);
        if (HasWrites)
        {
            foreach (var instance in Writes.Instances)
            {
                instances.Add(instance.Id);
            }
        }

        var desired = new HashSet<string>(StringComparer.Ordinal);
        foreach (var instance in _desiredChanged ?? [])
        {
            desired.Add(instance.Id);
        }

        foreach (var task in _published ?? [])
        {
            // A PROVISIONING task has no instance yet: no agent's desired state changed.
            if (task.InstanceId.Length > 0)
            {
                desired.Add(task.InstanceId);
            }
        }

        return new CommittedChange
        {
            Sequence = sequence,
            Cluster = Cluster.Name,
            Tasks = tasks,
            Instances = instances,
            DesiredStateChanged = desired,
            Services = HasWrites && Writes.Services.Count > 0 ? Writes.Services.ConvertAll(s => s.Name) : [],
            LostHostsChanged = (IReadOnlyCollection<string>?)_lostHosts ?? [],
            ScopeChanged = ScopeChanged,
            LoadBalancingChanged = LoadBalancingChanged,
            LoadBalancingWritten = LoadBalancingChanged ? [.. Writes.LoadBalancing.Select(r => r.Arn), .. Writes.LoadBalancingDeleted] : [],
            SecurityGroupsChanged = SecurityGroupsChanged,
            HostNetworkPublished = _hostNetworkPublished,
        };
    }
}

/// <summary>A change of the account-wide certificate catalog, made under its lock.</summary>
internal sealed class CertificateTransaction : Transaction
{
    internal CertificateTransaction(StateKernel kernel)
        : base(kernel)
    {
    }

    internal override void ApplyDurableEffects()
    {
    }

    internal override CommittedChange? Describe(long sequence) =>
        HasWrites && (Writes.Certificates.Count > 0 || Writes.CertificatesDeleted.Count > 0)
            ? new CommittedChange { Sequence = sequence, CertificatesWritten = [.. Writes.Certificates.Select(c => c.Arn), .. Writes.CertificatesDeleted] }
            : null;
}

/// <summary>A change of the global task-definition catalog, made under its lock.</summary>
internal sealed class CatalogTransaction : Transaction
{
    internal CatalogTransaction(StateKernel kernel)
        : base(kernel)
    {
    }

    internal override void ApplyDurableEffects()
    {
    }

    internal override CommittedChange? Describe(long sequence) =>
        ScopeChanged ? new CommittedChange { Sequence = sequence, ScopeChanged = true } : null;
}
