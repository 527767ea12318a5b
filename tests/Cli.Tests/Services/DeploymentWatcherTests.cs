using Berth.Cli.Services;
using Berth.Scheduler.V1;

namespace Berth.Cli.Tests.Services;

public sealed class DeploymentWatcherTests
{
    private static Deployment Deployment(string id, string status, int desired, int running, int pending = 0, string rollout = "IN_PROGRESS") =>
        new() { Id = id, Status = status, DesiredCount = desired, RunningCount = running, PendingCount = pending, RolloutState = rollout, TaskDefinition = "arn:berth:ecs:local:task-definition/web:2" };

    [Fact]
    public void IsSteady_WhenTheNewDeploymentRunsEverything_AndTheOldOneIsInactive()
    {
        var primary = Deployment("ecs-svc/2", "PRIMARY", 9, 9, rollout: "COMPLETED");
        var service = new ServiceInfo { Deployments = { primary, Deployment("ecs-svc/1", "INACTIVE", 0, 0, rollout: "COMPLETED") } };

        Assert.True(DeploymentWatcher.IsSteady(service, primary));
    }

    [Fact]
    public void IsNotSteady_WhileTheOldDeploymentStillHasTasks()
    {
        var primary = Deployment("ecs-svc/2", "PRIMARY", 9, 9, rollout: "COMPLETED");
        var service = new ServiceInfo { Deployments = { primary, Deployment("ecs-svc/1", "ACTIVE", 0, 2) } };

        Assert.False(DeploymentWatcher.IsSteady(service, primary));
    }

    [Theory]
    [InlineData(9, 8, 0, "IN_PROGRESS")]
    [InlineData(9, 9, 1, "IN_PROGRESS")]
    [InlineData(9, 9, 0, "FAILED")]
    public void IsNotSteady_UntilEverythingRunsAndTheRolloutCompleted(int desired, int running, int pending, string rollout)
    {
        var primary = Deployment("ecs-svc/2", "PRIMARY", desired, running, pending, rollout);

        Assert.False(DeploymentWatcher.IsSteady(new ServiceInfo { Deployments = { primary } }, primary));
    }

    [Fact]
    public void ProgressLine_ShowsCountsAndState()
    {
        var line = DeploymentWatcher.ProgressLine(Deployment("ecs-svc/2", "PRIMARY", 9, 4, 3));

        Assert.Equal("ecs-svc/2 PRIMARY  web:2  desired 9  running 4  pending 3  failed 0  IN_PROGRESS", line);
    }

    [Fact]
    public void ProgressLine_OfADeploymentBeingReplaced_ShowsDesiredZeroAndWhatStillRuns()
    {
        var line = DeploymentWatcher.ProgressLine(Deployment("ecs-svc/1", "ACTIVE", 0, 4, 0));

        Assert.Contains("desired 0  running 4", line, StringComparison.Ordinal);
        Assert.DoesNotContain("4/0", line, StringComparison.Ordinal);
    }
}
