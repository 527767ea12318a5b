using Berth.Cli.Common;
using Berth.Scheduler.V1;

namespace Berth.Cli.Services;

/// <summary>How services print.</summary>
internal static class ServiceTable
{
    public static void Print(CliOutput output, IReadOnlyCollection<ServiceInfo> services)
    {
        if (output.IsJson)
        {
            output.Json(services);
            return;
        }

        output.Table(
            ["SERVICE", "STATUS", "TASK DEFINITION", "DESIRED", "RUNNING", "PENDING", "DEPLOYMENTS", "ROLLOUT"],
            services.Select(s => (IReadOnlyList<string>)
            [
                s.ServiceName,
                s.Status,
                Display.TaskDefinition(s.TaskDefinition),
                Display.Num(s.DesiredCount),
                Display.Num(s.RunningCount),
                Display.Num(s.PendingCount),
                Display.Num(s.Deployments.Count(d => d.Status != "INACTIVE")),
                s.Deployments.FirstOrDefault()?.RolloutState ?? "-",
            ]));
    }

    public static void Describe(CliOutput output, ServiceInfo service)
    {
        if (output.IsJson)
        {
            output.Json(service);
            return;
        }

        var configuration = service.DeploymentConfiguration;
        output.Fields(
        [
            ("Service", service.ServiceName),
            ("ARN", service.ServiceArn),
            ("Cluster", service.Cluster),
            ("Status", service.Status),
            ("Scheduling", service.SchedulingStrategy == SchedulingStrategy.Daemon ? "DAEMON" : "REPLICA"),
            ("Task definition", Display.TaskDefinition(service.TaskDefinition)),
            ("Desired / running / pending", $"{service.DesiredCount} / {service.RunningCount} / {service.PendingCount}"),
            ("Min healthy / max percent", configuration is null ? "-" : $"{(configuration.HasMinimumHealthyPercent ? configuration.MinimumHealthyPercent : 100)}% / {(configuration.HasMaximumPercent ? configuration.MaximumPercent : 200)}%"),
            ("Circuit breaker", configuration?.DeploymentCircuitBreaker is { Enable: true } breaker ? (breaker.Rollback ? "on, rollback" : "on") : "off"),
            ("Health check grace period", $"{service.HealthCheckGracePeriodSeconds} s"),
            ("Placement", string.Join(", ", service.PlacementStrategy.Select(s => s.Field.Length > 0 ? $"{s.Type}({s.Field})" : s.Type)
                .Concat(service.PlacementConstraints.Select(c => c.Expression.Length > 0 ? $"{c.Type}({c.Expression})" : c.Type))) is { Length: > 0 } placement ? placement : "-"),
            ("Load balancers", service.LoadBalancers.Count == 0 ? "-" : string.Join(", ", service.LoadBalancers.Select(l => $"{l.TargetGroupArn.Split('/') switch { { Length: >= 3 } p => p[^2], _ => l.TargetGroupArn }} <- {l.ContainerName}:{l.ContainerPort}"))),
            ("Created", Display.Time(service.CreatedAt)),
            ("Launches", service.Throttle is { } throttle ? $"held back until {Display.Time(throttle.RetryAt)}: {throttle.Message}" : "-"),
        ]);
        output.Out.WriteLine();
        output.Table(
            ["DEPLOYMENT", "STATUS", "TASK DEFINITION", "DESIRED", "RUNNING", "PENDING", "FAILED", "ROLLOUT", "REASON"],
            service.Deployments.Select(d => (IReadOnlyList<string>)
            [
                d.Id, d.Status, Display.TaskDefinition(d.TaskDefinition), Display.Num(d.DesiredCount), Display.Num(d.RunningCount),
                Display.Num(d.PendingCount), Display.Num(d.FailedTasks), d.RolloutState, d.RolloutStateReason.Length > 0 ? d.RolloutStateReason : "-",
            ]));
        output.Out.WriteLine();
        output.Table(["TIME", "EVENT"], service.Events.Take(5).Reverse().Select(e => (IReadOnlyList<string>)[Display.Time(e.CreatedAt), e.Message]));
    }
}
