using System.ComponentModel.DataAnnotations;
using Berth.Agent.Networking;
using Berth.Agent.Tasks;
using Microsoft.Extensions.Options;

namespace Berth.Agent.Configuration;

/// <summary>
/// The agent's configuration: <c>/etc/berth/agent.json</c> (or <c>--config PATH</c>), then <c>BERTH_*</c>
/// environment variables, then the command line, each overriding the one before.
/// </summary>
internal sealed class AgentOptions
{
    /// <summary>The scheduler's gRPC address, e.g. <c>http://10.0.0.1:7070</c>.</summary>
    [Required]
    public Uri? SchedulerUrl { get; set; }

    /// <summary>The cluster's join token; needed only for the first start (registration).</summary>
    public string? JoinToken { get; set; }

    [Required]
    [RegularExpression("^[A-Za-z0-9_-]{1,255}$")]
    public string Cluster { get; set; } = "default";

    public string? Zone { get; set; }

    public string? InstanceType { get; set; }

    /// <summary>Custom instance attributes.</summary>
    public Dictionary<string, string> Attributes { get; set; } = [];

    /// <summary>Cpu units (1024 per vCPU) kept back from tasks for the host itself.</summary>
    [Range(0, int.MaxValue)]
    public int ReservedCpu { get; set; }

    /// <summary>Memory in MiB kept back from tasks for the host itself.</summary>
    [Range(0, int.MaxValue)]
    public int ReservedMemory { get; set; } = 256;

    /// <summary>TCP host ports no task may take.</summary>
    public List<int> ReservedPorts { get; set; } = [22, 2375, 2376];

    [Range(1, 65535)]
    public int DynamicPortFirst { get; set; } = 49153;

    [Range(1, 65535)]
    public int DynamicPortLast { get; set; } = 65535;

    [Required]
    public Uri DockerEndpoint { get; set; } = new("unix:///var/run/docker.sock");

    /// <summary>Where the instance id and credential live (<c>--data-dir</c>); must survive restarts. See <see cref="AgentDataDirectory"/>.</summary>
    [Required]
    public string DataDirectory { get; set; } = "/var/lib/berth/agent";

    /// <summary>The old name of <see cref="DataDirectory"/>; set, it fails validation with a pointer to the new name.</summary>
    public string? StateDirectory { get; set; }

    /// <summary>
    /// The value of the <c>berth.agent</c> label on every container this agent creates. The agent adopts and
    /// touches only containers with its scope, so several agents can share one engine (tests, labs).
    /// </summary>
    [Required]
    [RegularExpression("^[A-Za-z0-9_.-]{1,128}$")]
    public string Scope { get; set; } = "default";

    public ImagePullBehavior ImagePullBehavior { get; set; } = ImagePullBehavior.Default;

    /// <summary>Time between SIGTERM and SIGKILL when a container definition does not set stopTimeout.</summary>
    public TimeSpan StopTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Full reconcile with the engine at least this often (events trigger one at once).</summary>
    public TimeSpan ReconcileInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Heartbeat interval until the scheduler tells its own.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(10);

    public ImageCleanupOptions ImageCleanup { get; set; } = new();

    public AwsvpcOptions Awsvpc { get; set; } = new();

    public CgroupOptions Cgroups { get; set; } = new();

    public FargateOptions Fargate { get; set; } = new();
}

/// <summary>Removal of unused images.</summary>
internal sealed class ImageCleanupOptions
{
    public bool Enabled { get; set; } = true;

    /// <summary>An image is a candidate only when unused for at least this long.</summary>
    public TimeSpan MinimumAge { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Images are removed (least recently used first) while the engine's disk is fuller than this.</summary>
    [Range(0, 100)]
    public double DiskUsageThresholdPercent { get; set; } = 80;

    public TimeSpan Interval { get; set; } = TimeSpan.FromMinutes(5);
}

/// <summary>Rules that span fields.</summary>
internal sealed class AgentOptionsValidator : IValidateOptions<AgentOptions>
{
    public ValidateOptionsResult Validate(string? name, AgentOptions options)
    {
        var failures = new List<string>();
        if (options.SchedulerUrl is { } url && (!url.IsAbsoluteUri || url.Scheme is not ("http" or "https")))
        {
            failures.Add($"SchedulerUrl must be an absolute http or https URL, not '{url}'.");
        }

        if (options.DynamicPortFirst > options.DynamicPortLast)
        {
            failures.Add($"DynamicPortFirst ({options.DynamicPortFirst}) is above DynamicPortLast ({options.DynamicPortLast}).");
        }

        if (options.DockerEndpoint is { IsAbsoluteUri: true } endpoint && endpoint.Scheme is not ("unix" or "tcp" or "http" or "https"))
        {
            failures.Add($"DockerEndpoint must be unix://, tcp:// or http(s)://, not '{endpoint}'.");
        }

        if (options.StateDirectory is not null)
        {
            failures.Add($"StateDirectory is now DataDirectory (--data-dir, BERTH_DATADIRECTORY): rename it in the configuration (it is '{options.StateDirectory}').");
        }

        if (options.StopTimeout < TimeSpan.Zero || options.ReconcileInterval <= TimeSpan.Zero || options.HeartbeatInterval <= TimeSpan.Zero)
        {
            failures.Add("StopTimeout, ReconcileInterval and HeartbeatInterval must be positive.");
        }

        ValidateAwsvpc(options.Awsvpc, failures);

        // DataAnnotations do not reach into nested sections: their patterns are checked here.
        Check(options.Awsvpc, nameof(AwsvpcOptions.BridgeName), "Awsvpc:BridgeName", failures);
        Check(options.Cgroups, nameof(CgroupOptions.Parent), "Cgroups:Parent", failures);
        Check(options.Fargate, nameof(FargateOptions.Runtime), "Fargate:Runtime", failures);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void Check(object section, string property, string key, List<string> failures)
    {
        var results = new List<ValidationResult>();
        var value = section.GetType().GetProperty(property)!.GetValue(section);
        if (!Validator.TryValidateProperty(value, new ValidationContext(section) { MemberName = property }, results))
        {
            failures.Add($"{key}: {string.Join(' ', results.Select(r => r.ErrorMessage))} (got '{value}').");
        }
    }

    private static void ValidateAwsvpc(AwsvpcOptions awsvpc, List<string> failures)
    {
        Ipv4Cidr? subnet = null;
        if (awsvpc.TaskSubnet is not null && (!Ipv4Cidr.TryParse(awsvpc.TaskSubnet, out subnet) || subnet.Value.PrefixLength is < 16 or > 28))
        {
            failures.Add($"Awsvpc:TaskSubnet must be an IPv4 CIDR from /16 to /28, not '{awsvpc.TaskSubnet}'.");
        }

        if (awsvpc.ClusterCidr is not null && !Ipv4Cidr.TryParse(awsvpc.ClusterCidr, out _))
        {
            failures.Add($"Awsvpc:ClusterCidr must be an IPv4 CIDR, not '{awsvpc.ClusterCidr}'.");
        }

        for (var i = 0; i < awsvpc.PeerRoutes.Count; i++)
        {
            var peer = awsvpc.PeerRoutes[i];
            if (!Ipv4Cidr.TryParse(peer.Subnet, out var peerSubnet) || !Ipv4Cidr.TryParseAddress(peer.Via, out _))
            {
                failures.Add($"Awsvpc:PeerRoutes:{i} needs Subnet (an IPv4 CIDR) and Via (an IPv4 address), not '{peer.Subnet}' via '{peer.Via}'.");
            }
            else if (subnet is { } own && own.Overlaps(peerSubnet.Value))
            {
                failures.Add($"Awsvpc:PeerRoutes:{i} subnet {peerSubnet} overlaps Awsvpc:TaskSubnet {own}.");
            }
        }

        foreach (var upstream in awsvpc.DnsUpstreams)
        {
            if (!System.Net.IPAddress.TryParse(upstream, out _))
            {
                failures.Add($"Awsvpc:DnsUpstreams: '{upstream}' is not an IP address.");
            }
        }

        if (awsvpc.DnsTtl < TimeSpan.Zero || awsvpc.ResyncInterval <= TimeSpan.Zero)
        {
            failures.Add("Awsvpc:DnsTtl must not be negative and Awsvpc:ResyncInterval must be positive.");
        }
    }
}
