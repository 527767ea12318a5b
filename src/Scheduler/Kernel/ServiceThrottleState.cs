namespace Berth.Scheduler.Kernel;

/// <summary>
/// A service's launch throttle (ECS's service throttle logic), owned by its <see cref="ServiceRecord"/>: the tasks that
/// failed since the service was last steady, and how long new launches are held back. Stored with the service, so a
/// restarted scheduler does not start a failing service at full speed again. The decisions are the Services feature's
/// (<c>Services/ServiceThrottle</c>); the kernel only records failures as tasks stop.
/// </summary>
internal sealed class ServiceThrottleState
{
    /// <summary>Recent failures kept per service for the aggregated event (the newest win).</summary>
    public const int MaxRecentFailures = 20;

    /// <summary>Tasks that stopped without being asked to (failed to start, essential container exited) since the service was last steady.</summary>
    public int Failures { get; set; }

    /// <summary>How many times launches were held back since the service was last steady: the exponent of the next wait.</summary>
    public int Level { get; set; }

    /// <summary>No task is launched before this time; null when the service is not throttled.</summary>
    public DateTimeOffset? RetryAt { get; set; }

    /// <summary>The failures aggregated with their cause when the wait was last raised (what events and <c>--wait</c> say).</summary>
    public string? Summary { get; set; }

    /// <summary>The newest failures with their causes (the task's stopped reason), newest last.</summary>
    public List<LaunchFailure> Recent { get; } = [];

    public bool IsEmpty => Failures == 0 && Level == 0 && RetryAt is null && Recent.Count == 0;

    public void RecordFailure(DateTimeOffset at, string cause)
    {
        Failures++;
        Recent.Add(new LaunchFailure(at, cause));
        if (Recent.Count > MaxRecentFailures)
        {
            Recent.RemoveRange(0, Recent.Count - MaxRecentFailures);
        }
    }

    /// <summary>Forgets everything (steady again, or a new deployment); true when there was something to forget.</summary>
    public bool Reset()
    {
        if (IsEmpty)
        {
            return false;
        }

        Failures = 0;
        Level = 0;
        RetryAt = null;
        Summary = null;
        Recent.Clear();
        return true;
    }
}

/// <summary>A task of a service that stopped without being asked to, and why.</summary>
internal readonly record struct LaunchFailure(DateTimeOffset At, string Cause);
