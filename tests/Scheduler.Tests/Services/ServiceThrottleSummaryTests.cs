using Berth.Scheduler.Kernel;
using Berth.Scheduler.Services;

namespace Berth.Scheduler.Tests.Services;

/// <summary>The aggregated failure event: one cause per cause, whatever the agent adds about its own pull backoff.</summary>
public sealed class ServiceThrottleSummaryTests
{
    private const string Denied = "CannotPullContainerError: pull access denied for 127.0.0.1:5000/team-a/missing, repository does not exist or may require 'docker login': denied: requested access to the resource is denied";

    [Fact]
    public void Summary_ReadsTheAgentsPullBackoffNotesAsOneCause_WithoutTheirStaleWait()
    {
        // As the bad-image run saw them: the first failure pulled, the next ones carry the agent's count and wait.
        var now = new DateTimeOffset(2026, 12, 4, 4, 37, 30, TimeSpan.Zero);
        var service = new ServiceRecord { Cluster = "c", Name = "web", TaskDefinitionArn = "arn" };
        service.Throttle.RecordFailure(now.AddSeconds(-36), Denied);
        service.Throttle.RecordFailure(now.AddSeconds(-36), Denied + " (pulling 127.0.0.1:5000/team-a/missing:1 failed 2 times in a row; the agent pulls it again in 9s)");
        service.Throttle.RecordFailure(now.AddSeconds(-26), Denied + " (pulling 127.0.0.1:5000/team-a/missing:1 failed 4 times in a row; the agent pulls it again in 26s)");
        service.Throttle.RecordFailure(now, Denied + " (pulling 127.0.0.1:5000/team-a/missing:1 failed 4 times in a row; the agent pulls it again in 1m05s)");

        Assert.Equal($"4 tasks failed to start in the last 1 min: {Denied}", ServiceThrottle.Summary(service, now));
    }

    [Fact]
    public void Summary_CountsOtherCausesApart_MostFrequentFirst()
    {
        var now = new DateTimeOffset(2026, 12, 4, 4, 40, 0, TimeSpan.Zero);
        var service = new ServiceRecord { Cluster = "c", Name = "web", TaskDefinitionArn = "arn" };
        service.Throttle.RecordFailure(now.AddMinutes(-3), "Essential container in task exited");
        service.Throttle.RecordFailure(now.AddMinutes(-2), Denied + " (pulling 127.0.0.1:5000/team-a/missing:1 failed 2 times in a row; the agent pulls it again in 9s)");
        service.Throttle.RecordFailure(now, Denied);

        Assert.Equal($"3 tasks failed to start in the last 3 min: {Denied} (and 1 other cause)", ServiceThrottle.Summary(service, now));
    }
}
