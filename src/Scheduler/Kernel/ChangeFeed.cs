using System.Collections.Immutable;
using Berth.Scheduler.Placement;

namespace Berth.Scheduler.Kernel;

/// <summary>
/// Told about every committed change, after it is durable and outside every lock, in commit order per cluster.
/// Subscribers are the agents' sessions (desired-state pushes), the service reconciler (a wake-up) and any watch
/// stream (load balancers following targets, DNS following endpoints); they must return quickly and never call back
/// into a commit synchronously.
/// </summary>
internal interface IChangeObserver
{
    void OnCommitted(CommittedChange change);
}

/// <summary>What one commit changed, captured under its lock.</summary>
internal sealed class CommittedChange
{
    /// <summary>Increases by one with every commit of the kernel (watchers order and resume by it).</summary>
    public required long Sequence { get; init; }

    /// <summary>The cluster, or null for a change of the global task-definition catalog.</summary>
    public string? Cluster { get; init; }

    /// <summary>Tasks written, as they were at the commit.</summary>
    public IReadOnlyList<TaskView> Tasks { get; init; } = [];

    /// <summary>Instances written or whose placement view changed (status, agent connection, attributes).</summary>
    public IReadOnlyCollection<string> Instances { get; init; } = [];

    /// <summary>Instances whose desired task set changed; their agents get the new set.</summary>
    public IReadOnlyCollection<string> DesiredStateChanged { get; init; } = [];

    /// <summary>Services written.</summary>
    public IReadOnlyCollection<string> Services { get; init; } = [];

    /// <summary>Instances whose tasks became UNKNOWN (declared lost) or stopped being UNKNOWN.</summary>
    public IReadOnlyCollection<string> LostHostsChanged { get; init; } = [];

    /// <summary>Whether a load balancer, listener, rule, target group or target was written or deleted.</summary>
    public bool LoadBalancingChanged { get; init; }

    /// <summary>
    /// The ARNs of the load-balancing records written or deleted (a target's change writes its group): balancer watch
    /// streams rebuild only these when they are target groups they already serve.
    /// </summary>
    public IReadOnlyCollection<string> LoadBalancingWritten { get; init; } = [];

    /// <summary>The ARNs of certificates imported, re-imported or deleted (a change of the certificate catalog, no cluster).</summary>
    public IReadOnlyCollection<string> CertificatesWritten { get; init; } = [];

    /// <summary>Whether a security group was written or deleted.</summary>
    public bool SecurityGroupsChanged { get; init; }

    /// <summary>Whether the cluster's host addressing was published anew (the routes to its hosts' task subnets may differ).</summary>
    public bool HostNetworkPublished { get; init; }

    /// <summary>Whether the cluster record or the task-definition catalog was written.</summary>
    public bool ScopeChanged { get; init; }
}

/// <summary>A task as a commit left it: what a watcher of endpoints needs, immutable.</summary>
internal readonly record struct TaskView(
    string Id,
    string InstanceId,
    string Group,
    LifecycleStatus DesiredStatus,
    LifecycleStatus LastStatus,
    ImmutableArray<PortBinding> Ports);
