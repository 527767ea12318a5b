using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Text.RegularExpressions;
using Berth.Scheduler.Kernel;

namespace Berth.Scheduler.Services;

/// <summary>The service launch throttle's settings (<c>Scheduler:ServiceThrottle</c>).</summary>
internal sealed class ServiceThrottleOptions
{
    /// <summary>The first wait once a service's tasks keep failing; each further wait doubles it.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "01:00:00")]
    public TimeSpan Initial { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The longest wait (ECS throttles a failing service to about one attempt per quarter hour).</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "1.00:00:00")]
    public TimeSpan Maximum { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>Failed tasks since the service was last steady before launches are held back (one crash is replaced at once).</summary>
    [Range(1, 1000)]
    public int FailuresBeforeThrottle { get; set; } = 2;
}

/// <summary>
/// ECS's service throttle logic: when a service's tasks keep failing (to start, or their essential container exits), the
/// reconciler holds its launches back for a wait that doubles with each round of failures, from
/// <see cref="ServiceThrottleOptions.Initial"/> up to <see cref="ServiceThrottleOptions.Maximum"/>, each jittered down by
/// up to half so that many failing services do not retry in step. A round is the failures of tasks launched after the
/// last wait ended: the tasks of one launch failing one after another raise the wait once. Steady state, or a new
/// deployment, resets it. The state is the service's (<see cref="ServiceThrottleState"/>), stored with it.
/// </summary>
internal static partial class ServiceThrottle
{
    /// <summary>The failures an aggregated event looks back over.</summary>
    private static readonly TimeSpan s_window = TimeSpan.FromMinutes(15);

    /// <summary>Whether launches of <paramref name="service"/> are held back at <paramref name="now"/>.</summary>
    public static bool Holds(ServiceRecord service, DateTimeOffset now) => service.Throttle.RetryAt is { } retry && now < retry;

    /// <summary>
    /// Raises the wait when failures came in since the last one ended, and writes the two events that say so (the
    /// failures with their cause, and the backoff in ECS's words). True when the service changed.
    /// </summary>
    public static bool Update(ServiceRecord service, DateTimeOffset now, ServiceThrottleOptions options, Random random, TimeSpan repeatAfter, ILogger logger)
    {
        var state = service.Throttle;
        if (state.Failures < options.FailuresBeforeThrottle || state.Recent.Count == 0)
        {
            return false;
        }

        // Failures of tasks launched before the current wait ended belong to the round that set it.
        if (state.RetryAt is { } retry && state.Recent[^1].At < retry)
        {
            return false;
        }

        state.Level++;
        var wait = Wait(state.Level, options, random);
        state.RetryAt = now + wait;
        state.Summary = Summary(service, now);
        ServiceRules.AddEvent(service, $"(service {service.Name}) {state.Summary}", now, TimeSpan.Zero, logger);
        ServiceRules.AddEvent(service, $"(service {service.Name}) is unable to consistently start tasks successfully; retrying in {Durations(wait)}. For more information, see the Troubleshooting section of docs/services.md.", now, repeatAfter, logger);
        return true;
    }

    /// <summary>The wait after <paramref name="level"/> rounds: Initial x 2^(level-1), capped, then jittered down by up to half.</summary>
    public static TimeSpan Wait(int level, ServiceThrottleOptions options, Random random)
    {
        var doubled = options.Initial.Ticks * Math.Pow(2, Math.Min(level - 1, 40));
        var full = Math.Min(doubled, options.Maximum.Ticks);
        return TimeSpan.FromTicks((long)(full * (0.5 + (0.5 * random.NextDouble()))));
    }

    /// <summary><c>5 tasks failed to start in the last 2 min: CannotPullContainerError: ...</c>, the most frequent cause first.</summary>
    public static string Summary(ServiceRecord service, DateTimeOffset now)
    {
        var recent = service.Throttle.Recent.Where(f => now - f.At <= s_window).ToList();
        if (recent.Count == 0)
        {
            recent = [service.Throttle.Recent[^1]];
        }

        var minutes = Math.Max(1, (int)Math.Ceiling((now - recent[0].At).TotalMinutes));
        var causes = recent.GroupBy(f => CauseOf(f.Cause), StringComparer.Ordinal).OrderByDescending(g => g.Count()).ThenByDescending(g => g.Max(f => f.At)).ToList();
        var cause = causes[0].Key.Length > 0 ? causes[0].Key : "no reason was reported";
        var others = causes.Count > 1 ? $" (and {causes.Count - 1} other cause{(causes.Count > 2 ? "s" : "")})" : "";
        return $"{recent.Count} task{(recent.Count == 1 ? "" : "s")} failed to start in the last {minutes} min: {cause}{others}";
    }

    /// <summary>
    /// The cause of a failure without the agent's note on its own pull backoff (<c>CannotPullContainerError: ... (pulling
    /// IMAGE failed 4 times in a row; the agent pulls it again in 26s)</c>, Agent <c>ImageStore</c>): the count and the
    /// wait differ with every failure, so kept they made one cause read as many ("and 4 other causes"), and the wait
    /// was stale by the time the event was written.
    /// </summary>
    public static string CauseOf(string reason) => AgentPullNote().Replace(reason, "");

    [GeneratedRegex(@" \(pulling \S+ failed \d+ times in a row; the agent pulls it again in [^)]*\)$", RegexOptions.CultureInvariant)]
    private static partial Regex AgentPullNote();

    /// <summary>ECS's spelling of a wait: <c>40s</c>, <c>2m</c>, <c>2m30s</c>.</summary>
    public static string Durations(TimeSpan wait)
    {
        var seconds = (int)Math.Max(1, Math.Round(wait.TotalSeconds));
        return seconds < 60 ? $"{seconds}s"
            : seconds % 60 == 0 ? $"{(seconds / 60).ToString(CultureInfo.InvariantCulture)}m"
            : $"{(seconds / 60).ToString(CultureInfo.InvariantCulture)}m{(seconds % 60).ToString(CultureInfo.InvariantCulture)}s";
    }
}
