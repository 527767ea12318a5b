using Berth.Scheduler.Kernel;
using Berth.Scheduler.Services;

namespace Berth.Scheduler.Tests.Services;

/// <summary>A service keeps its live deployments, the newest finished ones and its rollback target; older history goes.</summary>
public sealed class DeploymentHistoryTests
{
    [Fact]
    public void TrimDeployments_KeepsLiveOnesTheNewestFiveFinishedAndTheRollbackTarget()
    {
        var service = new ServiceRecord { Cluster = "c", Name = "web", TaskDefinitionArn = "arn" };
        // Newest first: PRIMARY, one ACTIVE (draining), then twelve INACTIVE of which the oldest COMPLETED is the
        // rollback target (every newer one failed).
        service.Deployments.Add(Deployment("d-primary", Statuses.Primary, Statuses.InProgress));
        service.Deployments.Add(Deployment("d-active", Statuses.Active, Statuses.Failed));
        for (var i = 0; i < 12; i++)
        {
            service.Deployments.Add(Deployment($"d-{i}", Statuses.Inactive, i == 11 ? Statuses.Completed : Statuses.Failed));
        }

        Assert.True(ServiceRules.TrimDeployments(service));

        Assert.Equal(["d-primary", "d-active", "d-0", "d-1", "d-2", "d-3", "d-4", "d-11"], service.Deployments.Select(d => d.Id));
        Assert.False(ServiceRules.TrimDeployments(service));
    }

    [Fact]
    public void TrimEvents_DropsOnlyEventsOlderThanTheCutOff()
    {
        var service = new ServiceRecord { Cluster = "c", Name = "web", TaskDefinitionArn = "arn" };
        var now = DateTimeOffset.FromUnixTimeMilliseconds(1_800_000_000_000);
        service.Events.Add(new ServiceEventRecord("new", now, "new"));
        service.Events.Add(new ServiceEventRecord("old", now.AddDays(-2), "old"));

        Assert.True(ServiceRules.TrimEvents(service, now.AddDays(-1)));

        Assert.Equal("new", Assert.Single(service.Events).Id);
    }

    private static DeploymentRecord Deployment(string id, string status, string rollout) =>
        new() { Id = id, Status = status, RolloutState = rollout, TaskDefinitionArn = "arn" };
}
