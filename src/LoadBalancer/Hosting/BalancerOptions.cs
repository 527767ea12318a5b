using System.ComponentModel.DataAnnotations;
using System.Net;
using Microsoft.Extensions.Options;

namespace Berth.LoadBalancer.Hosting;

/// <summary>The balancer's settings: section <c>Balancer</c>, or the command line (<see cref="SwitchMappings"/>).</summary>
internal sealed class BalancerOptions
{
    public const string Section = "Balancer";

    /// <summary>Command-line spellings, kebab-case like Berth's other processes.</summary>
    public static readonly Dictionary<string, string> SwitchMappings = new(StringComparer.Ordinal)
    {
        ["--scheduler-url"] = $"{Section}:{nameof(SchedulerUrl)}",
        ["--token-file"] = $"{Section}:{nameof(TokenFile)}",
        ["--data-dir"] = $"{Section}:{nameof(DataDirectory)}",
        ["--load-balancer"] = $"{Section}:{nameof(LoadBalancer)}",
        ["--listen-address"] = $"{Section}:{nameof(ListenAddress)}",
        ["--admin-url"] = $"{Section}:{nameof(AdminUrl)}",
        ["--task-routes"] = $"{Section}:{nameof(TaskRoutes)}",
    };

    /// <summary>The scheduler's gRPC address, e.g. <c>http://127.0.0.1:7070</c>.</summary>
    [Required]
    public Uri? SchedulerUrl { get; set; }

    /// <summary>A file holding the balancer credential (<c>CreateBalancerCredential</c>); read at every connect.</summary>
    [Required]
    public string? TokenFile { get; set; }

    /// <summary>Where the last configuration and the replica id are kept (a cache: it may be deleted any time).</summary>
    [Required]
    public string? DataDirectory { get; set; }

    /// <summary>The load balancer (name or ARN) to serve; empty means the one the credential is for.</summary>
    public string LoadBalancer { get; set; } = "";

    /// <summary>The address listeners bind (their ports come from the configuration).</summary>
    [Required]
    public string ListenAddress { get; set; } = "0.0.0.0";

    /// <summary>The balancer's own status endpoint (<c>/healthz</c>, <c>/status</c>); port 0 picks a free one.</summary>
    [Required]
    public Uri AdminUrl { get; set; } = new("http://127.0.0.1:9901");

    /// <summary>
    /// Run requests on the socket engine's threads rather than handing each to the thread pool (Kestrel's
    /// <c>UnsafePreferInlineScheduling</c>). Off by default: the relay's connections run on its own event loops
    /// (<c>Relay/Loops</c>), not on Kestrel's transport, so Kestrel serves only what goes YARP's way, which measured ~6 %
    /// more CPU per request with it (docs/benchmarks.md, "Load balancer", third round).
    /// </summary>
    public bool InlineScheduling { get; set; }

    /// <summary>
    /// Serve plain HTTP/1.1 requests that need nothing but a forward through the relay (<c>Relay/Http1Relay</c>), which
    /// copies the exchange's bytes between the client and a pooled connection to the target instead of going through
    /// Kestrel's request parsing, YARP and SocketsHttpHandler; every other request goes the YARP way as before
    /// (docs/load-balancer.md, "The HTTP/1.1 relay").
    /// </summary>
    public bool FastPath { get; set; } = true;

    /// <summary>How often in-flight counts of draining targets are sampled and reported when they change.</summary>
    public TimeSpan InFlightReportInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Whether the balancer puts the routes to its cluster's task subnets (for <c>ip</c> target groups) in its own network
    /// namespace: <see cref="TaskRouteMode.Auto"/> (the default) when the process holds CAP_NET_ADMIN, else it logs once
    /// that the operator must provide them; <see cref="TaskRouteMode.On"/> always tries; <see cref="TaskRouteMode.Off"/>
    /// never touches the routing table (the operator routes, e.g. on the routers of a multi-segment network).
    /// </summary>
    public TaskRouteMode TaskRoutes { get; set; } = TaskRouteMode.Auto;

    /// <summary>How often the task routes are checked against the kernel's table even without a change (routes flushed by someone come back).</summary>
    public TimeSpan TaskRouteResyncInterval { get; set; } = TimeSpan.FromMinutes(1);
}

/// <summary>The values of <see cref="BalancerOptions.TaskRoutes"/>.</summary>
internal enum TaskRouteMode
{
    Auto,
    On,
    Off,
}

/// <summary>Rules across fields.</summary>
internal sealed class BalancerOptionsValidator : IValidateOptions<BalancerOptions>
{
    public ValidateOptionsResult Validate(string? name, BalancerOptions options)
    {
        var failures = new List<string>();
        if (options.SchedulerUrl is { } url && (!url.IsAbsoluteUri || url.Scheme is not ("http" or "https")))
        {
            failures.Add($"--scheduler-url must be an absolute http or https URL, not '{url}'.");
        }

        if (!IPAddress.TryParse(options.ListenAddress, out _))
        {
            failures.Add($"--listen-address must be an IP address, not '{options.ListenAddress}'.");
        }

        if (!options.AdminUrl.IsAbsoluteUri || options.AdminUrl.Scheme != "http")
        {
            failures.Add($"--admin-url must be an absolute http URL, not '{options.AdminUrl}'.");
        }

        if (options.InFlightReportInterval <= TimeSpan.Zero)
        {
            failures.Add("InFlightReportInterval must be positive.");
        }

        if (options.TaskRouteResyncInterval <= TimeSpan.Zero)
        {
            failures.Add("TaskRouteResyncInterval must be positive.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
