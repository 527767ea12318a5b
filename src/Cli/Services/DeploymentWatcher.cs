using Berth.Cli.Common;
using Berth.Scheduler.V1;

namespace Berth.Cli.Services;

/// <summary>How a watched deployment ended.</summary>
internal enum DeploymentOutcome
{
    Steady,
    Failed,
    TimedOut,
}

/// <summary>
/// <c>--wait</c> for services: polls DescribeServices and prints a line whenever a deployment's counts or state change
/// and every new service event, until the deployment the command started is steady (the only deployment, all its
/// tasks running) or FAILED (the circuit breaker tripped; a rollback may follow, but what was asked for failed).
/// </summary>
internal static class DeploymentWatcher
{
    private static readonly TimeSpan s_poll = TimeSpan.FromSeconds(1);

    public static async Task<(ServiceInfo Service, DeploymentOutcome Outcome)> WaitAsync(CliContext context, ServiceInfo service, TimeSpan timeout, CancellationToken ct)
    {
        // Deployments come PRIMARY first: the one this create/update made (or the current one, for a scale).
        var watched = service.Deployments.FirstOrDefault()?.Id;
        var deadline = DateTime.UtcNow + timeout;
        var shown = new Dictionary<string, string>(StringComparer.Ordinal);
        var seenEvents = new HashSet<string>(service.Events.Select(e => e.Id), StringComparer.Ordinal);
        while (true)
        {
            service = await ServiceCommands.DescribeOneAsync(context, service.ServiceArn, ct);
            foreach (var e in service.Events.Reverse().Where(e => seenEvents.Add(e.Id)))
            {
                context.Output.Say($"{Display.Time(e.CreatedAt)} {e.Message}");
            }

            foreach (var deployment in service.Deployments.Where(d => d.Status != "INACTIVE" || shown.ContainsKey(d.Id)))
            {
                var line = ProgressLine(deployment);
                if (!shown.TryGetValue(deployment.Id, out var last) || last != line)
                {
                    shown[deployment.Id] = line;
                    context.Output.Say($"{DateTime.UtcNow:yyyy-MM-dd HH:mm:ss'Z'} {line}");
                }
            }

            // The throttle is reset by every new deployment: one set now is about what this command asked for.
            if (service.Throttle is { } throttle)
            {
                context.Output.Error.WriteLine($"service {service.ServiceName} is unable to consistently start tasks successfully: {throttle.Message}. "
                    + $"The scheduler launches again at {Display.Time(throttle.RetryAt)} (docs/services.md, Troubleshooting).");
                return (service, DeploymentOutcome.Failed);
            }

            var target = service.Deployments.FirstOrDefault(d => d.Id == watched) ?? service.Deployments.FirstOrDefault();
            if (target is not null && target.RolloutState == "FAILED")
            {
                context.Output.Error.WriteLine($"deployment {target.Id} failed: {(target.RolloutStateReason.Length > 0 ? target.RolloutStateReason : "no reason given")}");
                return (service, DeploymentOutcome.Failed);
            }

            if (IsSteady(service, target))
            {
                context.Output.Say($"service {service.ServiceName} is steady: {service.RunningCount}/{service.DesiredCount} running on {Display.TaskDefinition(service.TaskDefinition)}");
                return (service, DeploymentOutcome.Steady);
            }

            if (DateTime.UtcNow > deadline)
            {
                context.Output.Error.WriteLine($"gave up waiting after {timeout.TotalSeconds:0} s: {service.RunningCount}/{service.DesiredCount} running, {service.Deployments.Count} deployment(s)");
                return (service, DeploymentOutcome.TimedOut);
            }

            await Task.Delay(s_poll, ct);
        }
    }

    /// <summary>
    /// ECS's steady state: one deployment left with tasks (finished ones stay listed as INACTIVE), everything it
    /// wants running, nothing pending.
    /// </summary>
    public static bool IsSteady(ServiceInfo service, Deployment? target) =>
        target is not null
        && service.Deployments.Count(d => d.Status != "INACTIVE") == 1
        && target.RunningCount == target.DesiredCount
        && target.PendingCount == 0
        && target.RolloutState is "COMPLETED" or "";

    /// <summary>
    /// One deployment's counts as ECS shows them, desired and running apart: a deployment being replaced wants 0 and
    /// still runs its old tasks while they drain (<c>desired 0  running 4</c>, not <c>running 4/0</c>).
    /// </summary>
    public static string ProgressLine(Deployment d) =>
        $"{d.Id} {d.Status,-8} {Display.TaskDefinition(d.TaskDefinition)}  desired {d.DesiredCount}  running {d.RunningCount}  pending {d.PendingCount}  failed {d.FailedTasks}  {d.RolloutState}";
}
