using Berth.Scheduler.Kernel;

namespace Berth.Scheduler.CapacityProviders;

/// <summary>
/// ECS managed scaling's arithmetic, pure: the CapacityProviderReservation metric of a provider's group and the desired
/// size a target-tracking policy on it asks for. N is the group's hosts (warmed up: ECS's instanceWarmupPeriod keeps a
/// new instance out of the metric), M the hosts needed: the hosts running at least one non-daemon task, plus, while tasks
/// wait in PROVISIONING, the hosts those would need, but at least minimumScalingStepSize and at most
/// maximumScalingStepSize more than N (ECS: "when additional capacity is required, Amazon ECS will scale up the minimum
/// scaling step size even if the actual demand is less"; the maximum bounds one scale-out).
/// </summary>
internal static class Reservation
{
    /// <summary>
    /// M / N x 100, with ECS's two edge cases: no hosts and nothing needed is 100 (steady), no hosts and something needed
    /// is 200 (scale out from zero).
    /// </summary>
    public static int Percent(int hosts, int needed)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(hosts);
        ArgumentOutOfRangeException.ThrowIfNegative(needed);
        if (hosts == 0)
        {
            return needed == 0 ? 100 : 200;
        }

        return (int)Math.Ceiling(needed * 100.0 / hosts);
    }

    /// <summary>
    /// M: <paramref name="busyHosts"/> (hosts with non-daemon tasks) when nothing waits; with tasks in PROVISIONING, N
    /// plus the <paramref name="hostsForProvisioning"/> estimate clamped to the provider's step sizes.
    /// </summary>
    public static int Needed(int hosts, int busyHosts, int hostsForProvisioning, ManagedScaling scaling)
    {
        if (hostsForProvisioning <= 0)
        {
            return busyHosts;
        }

        return hosts + Math.Clamp(hostsForProvisioning, scaling.MinimumStep, scaling.MaximumStep);
    }

    /// <summary>
    /// The desired size target tracking on the metric gives: ceil(N x metric / target) = ceil(M x 100 / target), kept within
    /// the group's bounds. With target 100 a group holds exactly the hosts its tasks need; below 100 it keeps spare hosts.
    /// </summary>
    public static int Desired(int needed, ManagedScaling scaling, int min, int max)
    {
        var desired = (int)Math.Ceiling(needed * 100.0 / scaling.TargetCapacity);
        return Math.Clamp(desired, min, max);
    }
}
