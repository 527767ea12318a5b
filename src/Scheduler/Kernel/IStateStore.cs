namespace Berth.Scheduler.Kernel;

/// <summary>
/// Durable storage of the kernel's records (implemented by Persistence; its format is its own). The kernel writes
/// through it before any change is acknowledged, and reads it once at start-up.
/// </summary>
internal interface IStateStore : IAsyncDisposable
{
    /// <summary>Creates or upgrades the schema (and converts data an older scheduler wrote).</summary>
    Task OpenAsync(CancellationToken cancellationToken);

    /// <summary>Reads every record into <paramref name="sink"/>: catalog first, then clusters, instances, tasks, services, load balancing, scalable targets, security groups, host groups, capacity providers, certificates.</summary>
    Task LoadAsync(IStateSink sink, CancellationToken cancellationToken);

    /// <summary>
    /// Captures the records as they are now (the caller holds the lock that guards them) and queues them for the next
    /// group commit, in call order. Completes when they are durable. Not cancellable: a caller that gives up must not
    /// leave memory and the database disagreeing about whether the change happened.
    /// </summary>
    Task WriteAsync(StateWrites writes);

    /// <summary>
    /// Removes records that ended before <paramref name="before"/> (STOPPED tasks, INACTIVE services and instances) in
    /// the next group commit: <paramref name="limit"/> of each kind, or as many as that commit writes task rows when it
    /// writes more, so that deletes keep pace with a busy writer. Returns how many went.
    /// </summary>
    Task<int> DeleteEndedAsync(DateTimeOffset before, int limit, CancellationToken cancellationToken);
}

/// <summary>Records to store together, gathered by one transaction.</summary>
internal sealed class StateWrites
{
    public List<ClusterRecord> Clusters { get; } = [];

    public List<TaskDefinitionRecord> TaskDefinitions { get; } = [];

    public List<InstanceRecord> Instances { get; } = [];

    public List<TaskRecord> Tasks { get; } = [];

    public List<ServiceRecord> Services { get; } = [];

    /// <summary>Load-balancing records to store (upserts by ARN).</summary>
    public List<LoadBalancingObject> LoadBalancing { get; } = [];

    /// <summary>Load-balancing records to delete, by ARN (after the upserts of the same transaction).</summary>
    public List<string> LoadBalancingDeleted { get; } = [];

    /// <summary>Scalable targets to store (upserts by cluster and service).</summary>
    public List<ScalableTargetRecord> ScalableTargets { get; } = [];

    /// <summary>Scalable targets to delete, by cluster and service (after the upserts of the same transaction).</summary>
    public List<(string Cluster, string Service)> ScalableTargetsDeleted { get; } = [];

    /// <summary>Security groups to store (upserts by id).</summary>
    public List<SecurityGroupRecord> SecurityGroups { get; } = [];

    /// <summary>Security groups to delete, by id (after the upserts of the same transaction).</summary>
    public List<string> SecurityGroupsDeleted { get; } = [];

    /// <summary>Host groups to store (upserts by cluster and name).</summary>
    public List<HostGroupRecord> HostGroups { get; } = [];

    /// <summary>Host groups to delete, by cluster and name (after the upserts of the same transaction).</summary>
    public List<(string Cluster, string Name)> HostGroupsDeleted { get; } = [];

    /// <summary>Capacity providers to store (upserts by cluster and name).</summary>
    public List<CapacityProviderRecord> CapacityProviders { get; } = [];

    /// <summary>Capacity providers to delete, by cluster and name (after the upserts of the same transaction).</summary>
    public List<(string Cluster, string Name)> CapacityProvidersDeleted { get; } = [];

    /// <summary>Imported certificates to store (upserts by ARN).</summary>
    public List<CertificateRecord> Certificates { get; } = [];

    /// <summary>Certificates to delete, by ARN (after the upserts of the same transaction).</summary>
    public List<string> CertificatesDeleted { get; } = [];

    public bool IsEmpty => Clusters.Count == 0 && TaskDefinitions.Count == 0 && Instances.Count == 0 && Tasks.Count == 0 && Services.Count == 0
        && LoadBalancing.Count == 0 && LoadBalancingDeleted.Count == 0 && ScalableTargets.Count == 0 && ScalableTargetsDeleted.Count == 0
        && SecurityGroups.Count == 0 && SecurityGroupsDeleted.Count == 0
        && HostGroups.Count == 0 && HostGroupsDeleted.Count == 0
        && CapacityProviders.Count == 0 && CapacityProvidersDeleted.Count == 0
        && Certificates.Count == 0 && CertificatesDeleted.Count == 0;
}

/// <summary>Where a store's load puts the records (the kernel, during start-up).</summary>
internal interface IStateSink
{
    /// <summary>Records older than this that ended (STOPPED tasks, INACTIVE services and instances) are not wanted.</summary>
    DateTimeOffset VisibleSince { get; }

    void AddCluster(ClusterRecord cluster);

    void AddDefinition(TaskDefinitionRecord definition);

    /// <summary>The revision a stored task or service names, or null when it is not stored.</summary>
    TaskDefinitionRecord? FindDefinition(string arn);

    void AddInstance(InstanceRecord instance);

    /// <summary>Adds a batch of tasks; called from several threads at once.</summary>
    void AddTasks(IReadOnlyList<TaskRecord> tasks);

    /// <summary>Adds a service (after every task), linking the tasks of its deployments.</summary>
    void AddService(ServiceRecord service);

    /// <summary>Adds a load-balancing record (after the clusters).</summary>
    void AddLoadBalancing(LoadBalancingObject record);

    /// <summary>Adds a scalable target (after the services).</summary>
    void AddScalableTarget(ScalableTargetRecord target);

    /// <summary>Adds a security group (after the clusters).</summary>
    void AddSecurityGroup(SecurityGroupRecord group);

    /// <summary>Adds a host group (after the clusters).</summary>
    void AddHostGroup(HostGroupRecord group);

    /// <summary>Adds a capacity provider (after the clusters).</summary>
    void AddCapacityProvider(CapacityProviderRecord provider);

    /// <summary>Adds an imported certificate.</summary>
    void AddCertificate(CertificateRecord certificate);
}
