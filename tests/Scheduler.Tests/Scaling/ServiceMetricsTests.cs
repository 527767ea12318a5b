using Berth.Scheduler.Scaling;

namespace Berth.Scheduler.Tests.Scaling;

public sealed class ServiceMetricsTests
{
    private static readonly DateTimeOffset s_t0 = new(2026, 12, 3, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Average_FollowsEachTasksNewestSample_AndForgetsStoppedTasks()
    {
        var metrics = new ServiceMetrics();
        metrics.Ingest("t1", "default/web", 80, 40, s_t0);
        metrics.Ingest("t2", "default/web", 20, 60, s_t0);
        metrics.Ingest("t3", "default/api", 99, 99, s_t0);

        Assert.Equal(new MetricValue(50, 2), metrics.Read("default/web", ScalingMetric.CpuUtilization));
        Assert.Equal(new MetricValue(50, 2), metrics.Read("default/web", ScalingMetric.MemoryUtilization));

        metrics.Ingest("t1", "default/web", 40, 40, s_t0.AddSeconds(10));
        Assert.Equal(new MetricValue(30, 2), metrics.Read("default/web", ScalingMetric.CpuUtilization));

        metrics.Forget("t2");
        metrics.Forget("t1");
        Assert.Null(metrics.Read("default/web", ScalingMetric.CpuUtilization));
        Assert.Equal(new MetricValue(99, 1), metrics.Read("default/api", ScalingMetric.CpuUtilization));
    }

    [Fact]
    public void Expire_DropsSamplesOlderThanTheWindow()
    {
        var metrics = new ServiceMetrics();
        metrics.Ingest("old", "s", 90, 0, s_t0);
        metrics.Ingest("new", "s", 10, 0, s_t0.AddMinutes(2));

        Assert.Equal(1, metrics.Expire(s_t0.AddMinutes(1)));
        Assert.Equal(new MetricValue(10, 1), metrics.Read("s", ScalingMetric.CpuUtilization));
    }

    [Fact]
    public void Utilization_IsOverWhatTheTaskReserves()
    {
        Assert.Equal(50, ServiceMetrics.CpuPercent(256, 512));
        Assert.Equal(25, ServiceMetrics.CpuPercent(256, 0));
        Assert.Equal(150, ServiceMetrics.MemoryPercent(192, 128));
    }
}
