using System.ComponentModel.DataAnnotations;
using Berth.Agent.Tasks;
using Berth.Core.Networking;
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

    /// <summary>
    /// The IP address load balancers reach this host's published ports on (<c>--advertise-address</c>), sent with the
    /// host's facts; unset, the scheduler uses the address the agent's session comes from. Set it when the two differ
    /// (NAT between the host and the scheduler, a separate network for traffic).
    /// </summary>
    public string? AdvertiseAddress { get; set; }

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

    /// <summary>How often running tasks' CPU and memory are sampled and sent (the scheduler's service auto scaling reads them); zero turns it off.</summary>
    public TimeSpan StatsInterval { get; set; } = TimeSpan.FromSeconds(10);

    public ImageCleanupOptions ImageCleanup { get; set; } = new();

    public TaskCleanupOptions TaskCleanup { get; set; } = new();

    public ImagePullBackoffOptions ImagePullBackoff { get; set; } = new();

    public AwsvpcOptions Awsvpc { get; set; } = new();

    public CgroupOptions Cgroups { get; set; } = new();

    public FargateOptions Fargate { get; set; } = new();
}

/// <summary>
/// What is kept of a stopped task: its containers for a while (so <c>berth logs</c> and <c>docker inspect</c> still see
/// them), then the last lines of their output in the state dir.
/// </summary>
internal sealed class TaskCleanupOptions
{
    /// <summary>
    /// How long a stopped task's containers are kept once the scheduler no longer lists it (the ECS agent's
    /// ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION, 3 h by default); zero removes them at once.
    /// </summary>
    public TimeSpan Wait { get; set; } = TimeSpan.FromHours(3);

    /// <summary>At most this many stopped tasks keep their containers; beyond it the oldest go first.</summary>
    [Range(0, 100_000)]
    public int MaxRetainedTasks { get; set; } = 100;

    /// <summary>While the engine's disk is fuller than this, kept containers go early, oldest first.</summary>
    [Range(0, 100)]
    public double DiskUsageThresholdPercent { get; set; } = 90;

    /// <summary>How often kept containers and saved lines are checked against these limits.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>The last bytes of output saved per container when a task stops (0 saves nothing).</summary>
    [Range(0, 16 * 1024 * 1024)]
    public int SavedLogBytesPerContainer { get; set; } = 64 * 1024;

    /// <summary>How long saved lines are kept.</summary>
    public TimeSpan SavedLogRetention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Saved lines of at most this many tasks are kept; beyond it the oldest go first.</summary>
    [Range(0, 1_000_000)]
    public int MaxSavedLogTasks { get; set; } = 1000;
}

/// <summary>
/// How long the agent waits before pulling again an image whose pulls keep failing: exponential from
/// <see cref="Initial"/> up to <see cref="Maximum"/>, each step jittered down by up to half, reset by a good pull.
/// Meanwhile tasks that need the image fail at once with the last pull error, instead of hammering the registry.
/// </summary>
internal sealed class ImagePullBackoffOptions
{
    public TimeSpan Initial { get; set; } = TimeSpan.FromSeconds(5);

    public TimeSpan Maximum { get; set; } = TimeSpan.FromMinutes(5);
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

        if (!string.IsNullOrEmpty(options.AdvertiseAddress) && !System.Net.IPAddress.TryParse(options.AdvertiseAddress, out _))
        {
            failures.Add($"AdvertiseAddress must be an IP address, not '{options.AdvertiseAddress}'.");
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

        if (options.StatsInterval < TimeSpan.Zero)
        {
            failures.Add("StatsInterval must not be negative (zero turns the task stats off).");
        }

        if (options.StopTimeout < TimeSpan.Zero || options.ReconcileInterval <= TimeSpan.Zero || options.HeartbeatInterval <= TimeSpan.Zero)
        {
            failures.Add("StopTimeout, ReconcileInterval and HeartbeatInterval must be positive.");
        }

        if (options.TaskCleanup.Wait < TimeSpan.Zero || options.TaskCleanup.Interval <= TimeSpan.Zero || options.TaskCleanup.SavedLogRetention < TimeSpan.Zero)
        {
            failures.Add("TaskCleanup:Wait and TaskCleanup:SavedLogRetention must not be negative, TaskCleanup:Interval must be positive.");
        }

        // Nested sections are not covered by the data annotations above (they validate top-level properties only).
        if (options.TaskCleanup.MaxRetainedTasks < 0 || options.TaskCleanup.SavedLogBytesPerContainer < 0 || options.TaskCleanup.MaxSavedLogTasks < 0
            || options.TaskCleanup.DiskUsageThresholdPercent is < 0 or > 100)
        {
            failures.Add("TaskCleanup:MaxRetainedTasks, SavedLogBytesPerContainer and MaxSavedLogTasks must not be negative; DiskUsageThresholdPercent is 0-100.");
        }

        if (options.ImagePullBackoff.Initial < TimeSpan.Zero || options.ImagePullBackoff.Maximum < options.ImagePullBackoff.Initial)
        {
            failures.Add($"ImagePullBackoff:Initial ({options.ImagePullBackoff.Initial}) must not be negative nor above ImagePullBackoff:Maximum ({options.ImagePullBackoff.Maximum}).");
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
        if (awsvpc.TaskSubnet is not null && (!Ipv4Cidr.TryParse(awsvpc.TaskSubnet, out subnet, bareAddressIsHost: true) || subnet.Value.PrefixLength is < 16 or > 28))
        {
            failures.Add($"Awsvpc:TaskSubnet must be an IPv4 CIDR from /16 to /28, not '{awsvpc.TaskSubnet}'.");
        }

        if (awsvpc.ClusterCidr is not null && !Ipv4Cidr.TryParse(awsvpc.ClusterCidr, out _, bareAddressIsHost: true))
        {
            failures.Add($"Awsvpc:ClusterCidr must be an IPv4 CIDR, not '{awsvpc.ClusterCidr}'.");
        }

        for (var i = 0; i < awsvpc.PeerRoutes.Count; i++)
        {
            var peer = awsvpc.PeerRoutes[i];
            if (!Ipv4Cidr.TryParse(peer.Subnet, out var peerSubnet, bareAddressIsHost: true) || !Ipv4Cidr.TryParseAddress(peer.Via, out _))
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
