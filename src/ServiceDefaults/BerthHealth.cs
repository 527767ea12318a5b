namespace Berth.ServiceDefaults;

/// <summary>
/// The health endpoints every service answers, and the tags that sort checks into them. Liveness (<c>/healthz</c>)
/// says the process is up and answering; a failure means "restart me". Readiness (<c>/readyz</c>) says it can do its
/// work now (its database opens, the state is loaded, the Docker engine answers); a failure means "send no work yet".
/// </summary>
public static class BerthHealth
{
    /// <summary>The liveness path.</summary>
    public const string LivenessPath = "/healthz";

    /// <summary>The readiness path.</summary>
    public const string ReadinessPath = "/readyz";

    /// <summary>Tag of the checks <see cref="LivenessPath"/> runs.</summary>
    public const string Live = "live";

    /// <summary>Tag of the checks <see cref="ReadinessPath"/> (and the scheduler's gRPC health service) runs.</summary>
    public const string Ready = "ready";

    /// <summary>How long one check may take before it counts as failed (a probe must answer within a kubelet's timeout).</summary>
    public static readonly TimeSpan CheckTimeout = TimeSpan.FromSeconds(5);
}
