using Berth.LoadBalancer.Model;

namespace Berth.LoadBalancer.Health;

/// <summary>ELB's target states.</summary>
internal enum TargetState
{
    Initial,
    Healthy,
    Unhealthy,
    Draining,
    Unavailable,
    Unused,
}

/// <summary>ELB's reason codes, spelled as ELB reports them.</summary>
internal static class ReasonCodes
{
    public const string InitialHealthChecking = "Elb.InitialHealthChecking";
    public const string ResponseCodeMismatch = "Target.ResponseCodeMismatch";
    public const string Timeout = "Target.Timeout";
    public const string FailedHealthChecks = "Target.FailedHealthChecks";
    public const string DeregistrationInProgress = "Target.DeregistrationInProgress";
    public const string NotRegistered = "Target.NotRegistered";
    public const string NotInUse = "Target.NotInUse";
    public const string HealthCheckDisabled = "Target.HealthCheckDisabled";
    public const string InternalError = "Elb.InternalError";
}

/// <summary>One target's health at one moment; <see cref="Reason"/> is empty when healthy.</summary>
internal sealed record HealthSnapshot(TargetState State, string Reason, string Description, DateTimeOffset Since, long Generation)
{
    /// <summary>Whether requests may go to it outside ELB's fail-open case.</summary>
    public bool Routable => State is TargetState.Healthy or TargetState.Unavailable;

    // The states the configuration sets, spelled once: a new target, a re-registered one, a group whose checks were
    // turned off and a passive ejection ending must all read the same as ELB reports them.

    /// <summary><c>initial</c>: registered in a group with checks, none passed yet.</summary>
    public static HealthSnapshot InitialChecking(DateTimeOffset now, long generation) =>
        new(TargetState.Initial, ReasonCodes.InitialHealthChecking, "Initial health checks in progress", now, generation);

    /// <summary><c>unavailable</c>: the routable state of a target in a group without checks.</summary>
    public static HealthSnapshot ChecksDisabled(DateTimeOffset now, long generation) =>
        new(TargetState.Unavailable, ReasonCodes.HealthCheckDisabled, "Health checks are disabled", now, generation);

    /// <summary><c>draining</c>: deregistered, in-flight requests finishing.</summary>
    public static HealthSnapshot Deregistering(DateTimeOffset now, long generation) =>
        new(TargetState.Draining, ReasonCodes.DeregistrationInProgress, "Target deregistration is in progress", now, generation);
}

/// <summary>The outcome of one health check.</summary>
internal readonly record struct ProbeResult(bool Success, string Reason, string Description)
{
    public static readonly ProbeResult Passed = new(true, "", "");

    public static ProbeResult Failed(string reason, string description) => new(false, reason, description);
}

/// <summary>
/// ELB's health state machine for one target of one group: <c>initial</c> until <see cref="HealthCheckModel.HealthyThreshold"/>
/// consecutive successes (<c>healthy</c>) or <see cref="HealthCheckModel.UnhealthyThreshold"/> consecutive failures
/// (<c>unhealthy</c>, with the last failure's reason); from then on the same thresholds move it back and forth.
/// </summary>
internal sealed class TargetHealthEntry
{
    private readonly Lock _lock = new();
    private int _successes;
    private int _failures;
    private volatile HealthSnapshot _current;
    private ITimer? _reinstatement;

    public TargetHealthEntry(string targetGroupArn, TargetModel target, HealthSnapshot initial)
    {
        TargetGroupArn = targetGroupArn;
        Target = target;
        _current = initial;
    }

    public string TargetGroupArn { get; }

    /// <summary>The target as last configured (its draining flag and deadline change with the configuration).</summary>
    public TargetModel Target { get; set; }

    public HealthSnapshot Current => _current;

    /// <summary>Whether the target's group has active checks (as last configured): without them only time ends an ejection.</summary>
    public bool ChecksEnabled { get; set; }

    /// <summary>Checks begun and finished (field, for Interlocked); tests wait on these with a fake clock.</summary>
    public int ChecksStarted;

    /// <summary>See <see cref="ChecksStarted"/>.</summary>
    public int ChecksCompleted;

    /// <summary>Counts one check; returns the new snapshot when the visible state (or reason) changed, else null.</summary>
    public HealthSnapshot? Record(ProbeResult result, HealthCheckModel check, DateTimeOffset now, long generation)
    {
        lock (_lock)
        {
            var current = _current;
            if (current.State is TargetState.Draining or TargetState.Unavailable or TargetState.Unused)
            {
                return null;
            }

            if (result.Success)
            {
                _failures = 0;
                _successes++;
                return current.State != TargetState.Healthy && _successes >= check.HealthyThreshold
                    ? Set(new HealthSnapshot(TargetState.Healthy, "", "", now, generation))
                    : null;
            }

            _successes = 0;
            _failures++;
            if (current.State == TargetState.Unhealthy)
            {
                // Still unhealthy: keep the reason current (a timeout may turn into a refused connection).
                return current.Reason == result.Reason && current.Description == result.Description
                    ? null
                    : Set(current with { Reason = result.Reason, Description = result.Description, Generation = generation });
            }

            return _failures >= check.UnhealthyThreshold
                ? Set(new HealthSnapshot(TargetState.Unhealthy, result.Reason, result.Description, now, generation))
                : null;
        }
    }

    /// <summary>A connection to the target failed while proxying: out at once, as after a failed threshold.</summary>
    public HealthSnapshot? Eject(string description, DateTimeOffset now, long generation)
    {
        lock (_lock)
        {
            if (_current.State is TargetState.Draining or TargetState.Unhealthy or TargetState.Unused)
            {
                return null;
            }

            _successes = 0;
            _failures = Math.Max(_failures, 1);
            return Set(new HealthSnapshot(TargetState.Unhealthy, ReasonCodes.FailedHealthChecks, description, now, generation));
        }
    }

    /// <summary>
    /// Holds the timer that ends an ejection in a group without checks (<see cref="TargetHealthTable.PassiveReactivation"/>);
    /// a newer one replaces it.
    /// </summary>
    public void SetReinstatement(ITimer? timer)
    {
        lock (_lock)
        {
            _reinstatement?.Dispose();
            _reinstatement = timer;
        }
    }

    /// <summary>
    /// Ends the ejection that produced <paramref name="ejection"/> (its generation), back to <c>unavailable</c>, the
    /// routable state of a group without checks; null when anything changed the target since.
    /// </summary>
    public HealthSnapshot? Reinstate(long ejection, DateTimeOffset now, long generation)
    {
        lock (_lock)
        {
            if (_current.Generation != ejection || _current.State != TargetState.Unhealthy || ChecksEnabled)
            {
                return null;
            }

            _successes = 0;
            _failures = 0;
            return Set(HealthSnapshot.ChecksDisabled(now, generation));
        }
    }

    /// <summary>
    /// Sets a state from the configuration (draining, checks disabled, re-registered); resets the counts. Null when the
    /// target is in that state (and reason) already: its <c>Since</c> stays.
    /// </summary>
    public HealthSnapshot? Force(HealthSnapshot next)
    {
        lock (_lock)
        {
            if (_current.State == next.State && _current.Reason == next.Reason)
            {
                return null;
            }

            _successes = 0;
            _failures = 0;
            return Set(next);
        }
    }

    private HealthSnapshot Set(HealthSnapshot next)
    {
        _current = next;
        return next;
    }
}
