using System.ComponentModel.DataAnnotations;

namespace Berth.Agent.Configuration;

/// <summary>
/// awsvpc task networking (section <c>Awsvpc</c>). The scheduler sends the host's task subnet, the cluster CIDR and
/// the peer routes in every desired state; these settings are what the agent uses until (or unless) it does.
/// </summary>
internal sealed class AwsvpcOptions
{
    /// <summary>This host's task subnet (<c>10.240.3.0/24</c>): its first address goes on the bridge; tasks get the rest.</summary>
    public string? TaskSubnet { get; set; }

    /// <summary>The cluster's task CIDR: traffic from tasks to it is not masqueraded (security groups match its sources).</summary>
    public string? ClusterCidr { get; set; }

    /// <summary>Routes to the other hosts' task subnets: <c>{ "Subnet": "10.240.4.0/24", "Via": "10.0.0.12" }</c>.</summary>
    public List<PeerRouteOptions> PeerRoutes { get; set; } = [];

    /// <summary>The Linux bridge the tasks' veths join; its address is the tasks' gateway and DNS server.</summary>
    [Required]
    [RegularExpression("^[a-zA-Z0-9_.-]{1,15}$")]
    public string BridgeName { get; set; } = "berth0";

    /// <summary>Where the CNI plugins are (Debian's <c>containernetworking-plugins</c>): <c>bridge</c> and <c>host-local</c> are used.</summary>
    [Required]
    public string CniPluginDirectory { get; set; } = "/usr/lib/cni";

    /// <summary>A statically linked busybox (Debian's <c>busybox-static</c>): the sandbox image is built from it, offline.</summary>
    [Required]
    public string BusyboxPath { get; set; } = "/bin/busybox";

    /// <summary>Programs security groups and masquerading with iptables (nft backend on Debian 12).</summary>
    public bool Firewall { get; set; } = true;

    /// <summary>The service discovery DNS server (on the bridge address, port 53).</summary>
    public bool Dns { get; set; } = true;

    /// <summary>Resolvers for names outside the service discovery namespaces; empty: the nameservers of /etc/resolv.conf.</summary>
    public List<string> DnsUpstreams { get; set; } = [];

    /// <summary>The TTL of answers when the record does not say.</summary>
    public TimeSpan DnsTtl { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often the agent re-asserts its routes and firewall rules (a flushed table heals within this).</summary>
    public TimeSpan ResyncInterval { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>A route to a peer host's task subnet.</summary>
internal sealed class PeerRouteOptions
{
    public string? Subnet { get; set; }

    public string? Via { get; set; }
}

/// <summary>Per-task cgroups (section <c>Cgroups</c>): task-level cpu and memory become limits of one cgroup the task's containers share.</summary>
internal sealed class CgroupOptions
{
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// The cgroup (cgroupfs path, as Docker's <c>--cgroup-parent</c> takes it) under which each task gets
    /// <c>task-&lt;id&gt;</c>. Under an engine started with its own <c>--cgroup-parent</c> (the lab), put it below that.
    /// </summary>
    [Required]
    [RegularExpression("^(/[a-zA-Z0-9_.-]+)+$")]
    public string Parent { get; set; } = "/berth";

    /// <summary>Where the cgroup v1 controllers are mounted.</summary>
    [Required]
    public string Root { get; set; } = "/sys/fs/cgroup";
}

/// <summary>FARGATE task isolation (section <c>Fargate</c>).</summary>
internal sealed class FargateOptions
{
    /// <summary>
    /// The OCI runtime of FARGATE tasks: <c>auto</c> (gVisor's <c>runsc</c> when the engine has it registered, else the
    /// engine's default), or a runtime name the engine knows (<c>runsc</c>, <c>runc</c>).
    /// </summary>
    [Required]
    [RegularExpression("^[a-zA-Z0-9_.-]{1,64}$")]
    public string Runtime { get; set; } = "auto";
}
