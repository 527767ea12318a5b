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

    [Fact]
    public void PlacementStall_GivesTheCause_OnceNothingMovedForThePatience()
    {
        var stall = new PlacementStall(TimeSpan.FromSeconds(30));
        var t0 = new DateTime(2026, 12, 3, 12, 0, 0, DateTimeKind.Utc);
        var primary = Deployment("ecs-svc/1", "PRIMARY", 2, 0);
        var service = new ServiceInfo { Deployments = { primary } };
        var unable = new ServiceEvent { Id = "e1", Message = "(service web) was unable to place a task because no container instance met all of its requirements. The closest matching (container-instance i-1) has insufficient memory available." };

        Assert.Null(stall.Observe(service, primary, [], t0));
        Assert.Null(stall.Observe(service, primary, [unable], t0.AddSeconds(1)));
        Assert.Null(stall.Observe(service, primary, [], t0.AddSeconds(20)));
        Assert.Equal(unable.Message, stall.Observe(service, primary, [], t0.AddSeconds(31)));
    }

    [Fact]
    public void PlacementStall_WaitsAgain_WhenCountsMove_AndNeverFails_WhileOldTasksMayMakeRoom()
    {
        var stall = new PlacementStall(TimeSpan.FromSeconds(30));
        var t0 = new DateTime(2026, 12, 3, 12, 0, 0, DateTimeKind.Utc);
        var unable = new ServiceEvent { Id = "e1", Message = "(service web) was unable to place a task because no container instance met all of its requirements." };
        var primary = Deployment("ecs-svc/2", "PRIMARY", 2, 0);
        var draining = new ServiceInfo { Deployments = { primary, Deployment("ecs-svc/1", "ACTIVE", 0, 2) } };

        // A rollout with static ports waits for the old tasks to stop: not a failure, however long.
        Assert.Null(stall.Observe(draining, primary, [unable], t0));
        Assert.Null(stall.Observe(draining, primary, [], t0.AddMinutes(5)));

        // Alone, with one task placed meanwhile: the clock starts again at the change.
        var moved = Deployment("ecs-svc/2", "PRIMARY", 2, 1);
        var alone = new ServiceInfo { Deployments = { moved } };
        Assert.Null(stall.Observe(alone, moved, [], t0.AddMinutes(6)));
        Assert.Null(stall.Observe(alone, moved, [], t0.AddMinutes(6).AddSeconds(29)));
        Assert.NotNull(stall.Observe(alone, moved, [], t0.AddMinutes(6).AddSeconds(30)));

        // Everything placed: the cause is forgotten.
        var placed = Deployment("ecs-svc/2", "PRIMARY", 2, 2);
        Assert.Null(stall.Observe(new ServiceInfo { Deployments = { placed } }, placed, [], t0.AddMinutes(10)));
        Assert.Null(stall.Observe(alone, moved, [], t0.AddMinutes(11)));
    }
}
