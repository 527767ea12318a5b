namespace Berth.Scheduler.Kernel;

/// <summary>
/// What one commit does, gathered while its lock is held: the records to store, the effects that wait for durability,
/// and what the change feed will say. Made and finished by <see cref="StateKernel"/>; a handler only adds to it.
/// </summary>
internal abstract class Transaction(StateKernel kernel)
{
    // Made on first use: most transactions of a reconcile pass or an agent's report write nothing.
    private HashSet<object>? _saved;
    private StateWrites? _writes;

    protected StateKernel Kernel { get; } = kernel;

    /// <summary>The time of the change, in whole milliseconds (as stored: a time read back after a restart equals the one answered before it).</summary>
    public DateTimeOffset Now { get; } = kernel.Now;

    /// <summary>The global task-definition catalog (its own lock; taking it inside a cluster's is allowed, never the reverse).</summary>
    public TaskDefinitionCatalog Definitions => Kernel.Definitions;

    /// <summary>The next desired-state sequence number (see <see cref="StateKernel.NextSeq"/>).</summary>
    public long NextSeq() => Kernel.NextSeq();

    internal bool HasWrites => _writes is { IsEmpty: false };

    internal bool ScopeChanged { get; private set; }

    internal StateWrites Writes => _writes ??= new StateWrites();

    private bool Added(object record) => (_saved ??= new HashSet<object>(ReferenceEqualityComparer.Instance)).Add(record);

    /// <summary>Stores the record (once per transaction, as it is when the transaction ends).</summary>
    public void Save(ClusterRecord cluster)
    {
        if (Added(cluster))
        {
            Writes.Clusters.Add(cluster);
            ScopeChanged = true;
        }
    }

    /// <summary>Stores the revision.</summary>
    public void Save(TaskDefinitionRecord definition)
    {
        if (Added(definition))
        {
            Writes.TaskDefinitions.Add(definition);
            ScopeChanged = true;
        }
    }

    /// <summary>Stores the instance.</summary>
    public void Save(InstanceRecord instance)
    {
        if (Added(instance))
        {
            Writes.Instances.Add(instance);
        }
    }

    /// <summary>Stores the task.</summary>
    public void Save(TaskRecord task)
    {
        if (Added(task))
        {
            Writes.Tasks.Add(task);
        }
    }

    /// <summary>Stores the service.</summary>
    public void Save(ServiceRecord service)
    {
        if (Added(service))
        {
            Writes.Services.Add(service);
        }
    }

    /// <summary>Stores a load-balancing record (load balancer, listener, rule or target group with its targets).</summary>
    public void Save(LoadBalancingObject record)
    {
        LoadBalancingChanged = true;
        if (Added(record))
        {
            Writes.LoadBalancing.Add(record);
        }
    }

    /// <summary>Deletes a stored load-balancing record by ARN.</summary>
    public void DeleteLoadBalancing(string arn)
    {
        LoadBalancingChanged = true;
        Writes.LoadBalancingDeleted.Add(arn);
    }

    internal bool LoadBalancingChanged { get; private set; }

    /// <summary>Stores an imported certificate (as it is when the transaction ends).</summary>
    public void Save(CertificateRecord certificate)
    {
        if (Added(certificate))
        {
            Writes.Certificates.Add(certificate);
        }
    }

    /// <summary>Deletes a stored certificate by ARN.</summary>
    public void DeleteCertificate(string arn) => Writes.CertificatesDeleted.Add(arn);

    /// <summary>Stores a scalable target (as it is when the transaction ends).</summary>
    public void Save(ScalableTargetRecord target)
    {
        if (Added(target))
        {
            Writes.ScalableTargets.Add(target);
        }
    }

    /// <summary>Deletes a stored scalable target.</summary>
    public void DeleteScalableTarget(string cluster, string service) => Writes.ScalableTargetsDeleted.Add((cluster, service));

    /// <summary>Stores a security group (as it is when the transaction ends).</summary>
    public void Save(SecurityGroupRecord group)
    {
        SecurityGroupsChanged = true;
        if (Added(group))
        {
            Writes.SecurityGroups.Add(group);
        }
    }

    /// <summary>Deletes a stored security group by id.</summary>
    public void DeleteSecurityGroup(string id)
    {
        SecurityGroupsChanged = true;
        Writes.SecurityGroupsDeleted.Add(id);
    }

    internal bool SecurityGroupsChanged { get; private set; }

    /// <summary>Stores a host group (as it is when the transaction ends).</summary>
    public void Save(HostGroupRecord group)
    {
        if (Added(group))
        {
            Writes.HostGroups.Add(group);
        }
    }

    /// <summary>Deletes a stored host group.</summary>
    public void DeleteHostGroup(string cluster, string name) => Writes.HostGroupsDeleted.Add((cluster, name));

    /// <summary>Stores a capacity provider (as it is when the transaction ends).</summary>
    public void Save(CapacityProviderRecord provider)
    {
        if (Added(provider))
        {
            Writes.CapacityProviders.Add(provider);
        }
    }

    /// <summary>Deletes a stored capacity provider.</summary>
    public void DeleteCapacityProvider(string cluster, string name) => Writes.CapacityProvidersDeleted.Add((cluster, name));

    /// <summary>Runs once the writes are durable, under the same lock again (before the change feed hears of it).</summary>
    internal abstract void ApplyDurableEffects();

    /// <summary>What the change feed is told; null when nothing changed.</summary>
    internal abstract CommittedChange? Describe(long sequence);
}
