using System.Collections.Concurrent;
using Berth.Scheduler.Kernel;

namespace Berth.Scheduler.Tests.Persistence;

/// <summary>An <see cref="IStateSink"/> that keeps what a store's load gives it.</summary>
internal sealed class RecordingSink(DateTimeOffset? visibleSince = null) : IStateSink
{
    private readonly Dictionary<string, TaskDefinitionRecord> _definitions = new(StringComparer.Ordinal);

    public DateTimeOffset VisibleSince { get; } = visibleSince ?? DateTimeOffset.MinValue;

    public List<ClusterRecord> Clusters { get; } = [];

    public List<InstanceRecord> Instances { get; } = [];

    public ConcurrentBag<TaskRecord> Tasks { get; } = [];

    public List<ServiceRecord> Services { get; } = [];

    public void AddCluster(ClusterRecord cluster) => Clusters.Add(cluster);

    public void AddDefinition(TaskDefinitionRecord definition) => _definitions[definition.Arn] = definition;

    public TaskDefinitionRecord? FindDefinition(string arn) => _definitions.GetValueOrDefault(arn);

    public void AddInstance(InstanceRecord instance) => Instances.Add(instance);

    public void AddTasks(IReadOnlyList<TaskRecord> tasks)
    {
        foreach (var task in tasks)
        {
            Tasks.Add(task);
        }
    }

    public void AddService(ServiceRecord service) => Services.Add(service);

    public List<LoadBalancingObject> LoadBalancing { get; } = [];

    public void AddLoadBalancing(LoadBalancingObject record) => LoadBalancing.Add(record);

    public List<HostGroupRecord> HostGroups { get; } = [];

    public List<CapacityProviderRecord> CapacityProviders { get; } = [];

    public List<ScalableTargetRecord> ScalableTargets { get; } = [];

    public void AddScalableTarget(ScalableTargetRecord target) => ScalableTargets.Add(target);

    public List<SecurityGroupRecord> SecurityGroups { get; } = [];

    public void AddSecurityGroup(SecurityGroupRecord group) => SecurityGroups.Add(group);

    public void AddHostGroup(HostGroupRecord group) => HostGroups.Add(group);

    public void AddCapacityProvider(CapacityProviderRecord provider) => CapacityProviders.Add(provider);

    public List<CertificateRecord> Certificates { get; } = [];

    public void AddCertificate(CertificateRecord certificate) => Certificates.Add(certificate);
}
