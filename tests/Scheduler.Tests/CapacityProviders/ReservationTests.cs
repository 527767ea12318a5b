using Berth.Scheduler.CapacityProviders;
using Berth.Scheduler.Kernel;

namespace Berth.Scheduler.Tests.CapacityProviders;

/// <summary>CapacityProviderReservation and the desired size, against the cases ECS's managed scaling documents.</summary>
public sealed class ReservationTests
{
    private static readonly ManagedScaling s_default = ManagedScaling.Default;

    [Fact]
    public void Percent_IsMOverNTimes100_WithEcsEdgeCases()
    {
        Assert.Equal(100, Reservation.Percent(0, 0)); // nothing runs, nothing wanted: steady
        Assert.Equal(200, Reservation.Percent(0, 3)); // scale out from zero hosts
        Assert.Equal(100, Reservation.Percent(4, 4)); // every host busy
        Assert.Equal(50, Reservation.Percent(4, 2)); // two hosts idle
        Assert.Equal(150, Reservation.Percent(2, 3)); // one host short
        Assert.Equal(34, Reservation.Percent(3, 1)); // rounded up: never reads as below what is needed
    }

    [Fact]
    public void Needed_IsTheBusyHosts_WhenNothingWaits()
    {
        Assert.Equal(2, Reservation.Needed(hosts: 5, busyHosts: 2, hostsForProvisioning: 0, s_default));
        Assert.Equal(0, Reservation.Needed(hosts: 5, busyHosts: 0, hostsForProvisioning: 0, s_default));
    }

    [Fact]
    public void Needed_WithProvisioningTasks_AddsTheEstimate_ClampedToTheSteps()
    {
        // Demand of 1 host with minimumScalingStepSize 2: ECS scales out by the minimum step anyway.
        Assert.Equal(5, Reservation.Needed(hosts: 3, busyHosts: 3, hostsForProvisioning: 1, s_default with { MinimumStep = 2 }));
        // Demand of 50 hosts with maximumScalingStepSize 10: one scale-out adds at most 10.
        Assert.Equal(13, Reservation.Needed(hosts: 3, busyHosts: 3, hostsForProvisioning: 50, s_default with { MaximumStep = 10 }));
        // In between: exactly the estimate.
        Assert.Equal(7, Reservation.Needed(hosts: 3, busyHosts: 2, hostsForProvisioning: 4, s_default));
        // From zero hosts: the metric is 200 and the group grows to the estimate.
        Assert.Equal(2, Reservation.Needed(hosts: 0, busyHosts: 0, hostsForProvisioning: 2, s_default));
    }

    [Fact]
    public void Desired_TracksTheTarget_WithinTheGroupsBounds()
    {
        Assert.Equal(4, Reservation.Desired(4, s_default, 0, 10)); // target 100: exactly what is needed
        Assert.Equal(5, Reservation.Desired(4, s_default with { TargetCapacity = 80 }, 0, 10)); // 4 / 0.8 = 5: one spare
        Assert.Equal(6, Reservation.Desired(5, s_default with { TargetCapacity = 90 }, 0, 10)); // 5.56 rounds up
        Assert.Equal(1, Reservation.Desired(0, s_default, 1, 10)); // never below the group's minimum
        Assert.Equal(10, Reservation.Desired(40, s_default, 0, 10)); // nor above its maximum
        // The metric at the desired size is at or below the target (the policy is satisfied).
        foreach (var target in (int[])[1, 33, 50, 75, 99, 100])
        {
            for (var needed = 1; needed < 50; needed++)
            {
                var desired = Reservation.Desired(needed, s_default with { TargetCapacity = target }, 0, 10000);
                Assert.True(Reservation.Percent(desired, needed) <= target + 1, $"target {target}, needed {needed}, desired {desired}");
                Assert.True(desired == needed || Reservation.Percent(desired - 1, needed) > target, $"target {target}, needed {needed}: {desired} is not the smallest");
            }
        }
    }
}
