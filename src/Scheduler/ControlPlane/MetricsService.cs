using Berth.Scheduler.Kernel;
using Berth.Scheduler.LoadBalancing;
using Berth.Scheduler.Scaling;
using Berth.Scheduler.Services;
using Berth.Scheduler.V1;
using Google.Protobuf.WellKnownTypes;

namespace Berth.Scheduler.ControlPlane;

/// <summary>The Metrics API (scaling.proto): the task stats the agents reported and the service averages scaling reads.</summary>
internal sealed class MetricsService(TaskStatsStore stats, StateKernel kernel) : Metrics.MetricsBase
{
    public override Task<GetTaskStatsResponse> GetTaskStats(GetTaskStatsRequest request, Grpc.Core.ServerCallContext context)
    {
        var cluster = Arns.ClusterName(request.Cluster);
        IEnumerable<TaskUsage> found = request.Tasks.Count > 0
            ? request.Tasks.Select(t => stats.Get(Arns.Id(t))).OfType<TaskUsage>().Where(u => u.Cluster == cluster)
            : stats.Of(cluster, request.ServiceName.Length > 0 ? request.ServiceName : null);
        var response = new GetTaskStatsResponse();
        response.Tasks.AddRange(found.Select(u => new TaskStatsEntry
        {
            TaskId = u.TaskId,
            ServiceName = u.Service ?? "",
            CpuUnits = u.CpuUnits,
            CpuReserved = u.CpuReserved,
            MemoryMib = u.MemoryMiB,
            MemoryReserved = u.MemoryReserved,
            CpuUtilization = u.CpuPercent,
            MemoryUtilization = u.MemoryPercent,
            SampledAt = Timestamp.FromDateTimeOffset(u.At),
            ContainerInstanceId = u.InstanceId,
        }));
        return Task.FromResult(response);
    }

    public override Task<GetServiceMetricsResponse> GetServiceMetrics(GetServiceMetricsRequest request, Grpc.Core.ServerCallContext context)
    {
        var cluster = Arns.ClusterName(request.Cluster);
        var name = Arns.Id(request.ServiceName);
        if (name.Length == 0)
        {
            throw StateException.Invalid("service_name is required.");
        }

        var now = kernel.Now;
        var counts = kernel.ReadCluster(cluster, state =>
            state is not null && state.Services.TryGetValue(name, out var service) && service.Status != Statuses.Inactive
                ? (service.DesiredCount, ServiceRules.Count(state, kernel.Definitions, service).Running, RequestMetrics(state, service, now))
                : ((int, int, List<TargetGroupRequestMetric>)?)null)
            ?? throw StateException.NotFound($"Service '{name}' not found in cluster '{cluster}'.");
        var key = ScalableTargetRecord.MetricsKey(cluster, name);
        var cpu = stats.Metrics.Read(key, ScalingMetric.CpuUtilization);
        var memory = stats.Metrics.Read(key, ScalingMetric.MemoryUtilization);
        var response = new GetServiceMetricsResponse
        {
            TasksReporting = cpu?.Tasks ?? 0,
            DesiredCount = counts.Item1,
            RunningCount = counts.Item2,
            RequestCountPerTarget = { counts.Item3 },
        };
        if (cpu is { } c)
        {
            response.CpuUtilization = c.Average;
        }

        if (memory is { } m)
        {
            response.MemoryUtilization = m.Average;
        }

        return Task.FromResult(response);
    }

    private static List<TargetGroupRequestMetric> RequestMetrics(ClusterState state, ServiceRecord service, DateTimeOffset now)
    {
        var metrics = new List<TargetGroupRequestMetric>();
        foreach (var groupArn in service.LoadBalancers.Select(l => l.TargetGroupArn).Distinct(StringComparer.Ordinal))
        {
            if (BalancerReports.RequestCountPerTarget(state.LoadBalancing, groupArn, now) is { } value)
            {
                metrics.Add(new TargetGroupRequestMetric
                {
                    TargetGroupArn = groupArn,
                    RequestsPerMinute = (long)Math.Round(value.Average * value.Tasks),
                    Targets = value.Tasks,
                    RequestCountPerTarget = value.Average,
                });
            }
        }

        return metrics;
    }
}
