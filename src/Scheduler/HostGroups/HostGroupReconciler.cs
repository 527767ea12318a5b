using Berth.Scheduler.Fargate;
using Berth.Scheduler.Hosting;
using Berth.Scheduler.Instances;
using Berth.Scheduler.Kernel;
using Berth.Scheduler.Placement;
using Berth.Scheduler.Provisioning;
using Berth.Scheduler.Security;
using Microsoft.Extensions.Options;

namespace Berth.Scheduler.HostGroups;

/// <summary>
/// Keeps every host group at its desired capacity (a <see cref="BackgroundService"/> on the injected clock, every
/// <see cref="HostGroupOptions.Interval"/> and at once after a group changes). A pass decides under the cluster's lock
/// (<see cref="HostGroupPlanner"/>: hosts to launch, in the zone with fewest; hosts to retire, never one with
/// non-daemon tasks while another will do, draining those it must take; hosts lost past the grace period), records
/// every decision with its activity before acting, then makes and destroys hosts through <see cref="HostProvisioning"/>
/// with a one-use join token per host, and deregisters the container instance of every host that is destroyed or
/// failed to be made. The first pass after a start destroys what the provisioner has and no group owns, and the hosts
/// whose create was in flight when the scheduler stopped.
/// </summary>
internal sealed partial class HostGroupReconciler(
    StateKernel kernel,
    HostGroupProvisioner provisioner,
    HostJoinTokens tokens,
    InstanceHandler instances,
    HostGroupSignal signal,
    IOptions<HostGroupOptions> options,
    IOptions<SchedulerOptions> schedulerOptions,
    ILogger<HostGroupReconciler> logger) : BackgroundService
{
    private readonly SemaphoreSlim _pass = new(1, 1);
    private bool _orphansCollected;
    private long _passes;

    /// <summary>Completed passes, so that tests can tell a pass ran after they moved the clock.</summary>
    public long Passes => Interlocked.Read(ref _passes);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (provisioner.Provisioning is null)
        {
            // No provisioner configured: no group can be created, so there is nothing to keep.
            return;
        }

        // Made before the first await, so the timer exists once the host has started (a test's fake clock moves it).
        using var timer = new PeriodicTimer(options.Value.Interval, kernel.Time);
        var ticks = TickAsync(timer, stoppingToken);
        try
        {
            await kernel.WhenLoaded.WaitAsync(stoppingToken);
            await provisioner.WhenListeningAsync(stoppingToken);
            signal.Wake();
            while (await signal.WaitAsync(stoppingToken))
            {
                try
                {
                    await RunOnceAsync(stoppingToken);
                }
                catch (Exception e) when (!stoppingToken.IsCancellationRequested)
                {
                    // A pass that fails (the store, a bug) is logged and the next signal or tick runs another: an
                    // exception out of a BackgroundService stops the whole scheduler.
                    Log.PassFailed(logger, e);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }

        await ticks;
    }

    private async Task TickAsync(PeriodicTimer timer, CancellationToken stoppingToken)
    {
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                signal.Wake();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }

    /// <summary>
    /// One pass over every cluster with host groups: decide, then make and destroy hosts and wait for all of it. Passes
    /// never overlap (a test's pass and the loop's take turns). Returns how many provisioner calls it made.
    /// </summary>
    public async Task<int> RunOnceAsync(CancellationToken cancellationToken)
    {
        if (provisioner.Provisioning is not { } provisioning)
        {
            return 0;
        }

        await _pass.WaitAsync(cancellationToken);
        try
        {
            if (!_orphansCollected)
            {
                _orphansCollected = await CollectOrphansAsync(provisioning, cancellationToken);
            }

            var lostAfter = schedulerOptions.Value.LostHostGracePeriod;
            var work = new List<Task>();
            foreach (var cluster in kernel.ClusterNames)
            {
                if (!kernel.ReadCluster(cluster, state => state is { HostGroups.Count: > 0 }))
                {
                    continue;
                }

                var steps = await kernel.CommitAsync(cluster, tx => HostGroupPlanner.Plan(tx, lostAfter, kernel.Time));
                foreach (var step in steps)
                {
                    work.Add(step.Launch
                        ? LaunchAsync(provisioning, cluster, step, cancellationToken)
                        : TerminateAsync(provisioning, cluster, step, cancellationToken));
                }
            }

            await Task.WhenAll(work);
            Interlocked.Increment(ref _passes);
            return work.Count;
        }
        finally
        {
            _pass.Release();
        }
    }

    private async Task LaunchAsync(HostProvisioning provisioning, string cluster, HostStep step, CancellationToken cancellationToken)
    {
        var token = tokens.Issue(cluster, step.Host);
        try
        {
            var request = new HostRequest(step.Host, cluster, provisioner.SchedulerUrl(), token, step.Zone, step.InstanceType, step.Attributes);
            var made = await provisioning.CreateAsync(request, cancellationToken);
            var instanceId = made.ContainerInstanceArn.Length > 0 ? Arns.Id(made.ContainerInstanceArn) : null;
            await kernel.CommitAsync(cluster, tx =>
            {
                var (group, host) = Find(tx, step);
                if (group is null || host is null)
                {
                    return 0;
                }

                host.State = GroupHostState.InService;
                host.InstanceId = instanceId ?? HostGroupPlanner.InstanceOf(tx.Cluster, host.Name)?.Id;
                group.Activity(step.ActivityId)?.End(tx.Now, ActivityStatus.Successful);
                tx.Save(group);
                return 0;
            });
            Log.Launched(logger, cluster, step.Group, step.Host, step.Zone);
        }
        catch (ProvisionerException e)
        {
            // HostProvisioning destroyed the failed attempt; its agent may have registered before the failure.
            Log.LaunchFailed(logger, cluster, step.Group, step.Host, e.Summary);
            await DeregisterAsync(cluster, step.Host);
            await kernel.CommitAsync(cluster, tx =>
            {
                var (group, host) = Find(tx, step);
                if (group is null || host is null)
                {
                    return 0;
                }

                group.Activity(step.ActivityId)?.End(tx.Now, ActivityStatus.Failed, e.Message);
                if (FargatePool.IsPoolGroup(group))
                {
                    // The FARGATE pool's hosts are no user's concern, so its failures reach the services that wait for it.
                    FargatePool.ReportLaunchFailure(tx, step.Host, e.Message, schedulerOptions.Value.ServiceEventRepeatInterval, logger);
                }

                if (e.HostMayRemain)
                {
                    // Its destroy failed too: it stays on the books, and the next pass destroys it again.
                    host.State = GroupHostState.Terminating;
                }
                else
                {
                    group.Hosts.Remove(host);
                }

                tx.Save(group);
                return 0;
            });
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Shutting down: the host stays Pending and the next start destroys it (HostProvisioning cleared the attempt already).
        }
        finally
        {
            tokens.Void(step.Host);
        }
    }

    private async Task TerminateAsync(HostProvisioning provisioning, string cluster, HostStep step, CancellationToken cancellationToken)
    {
        tokens.Void(step.Host);
        try
        {
            await provisioning.DestroyAsync(step.Host, cancellationToken);
        }
        catch (ProvisionerException e)
        {
            Log.TerminateFailed(logger, cluster, step.Group, step.Host, e.Summary);
            await kernel.CommitAsync(cluster, tx =>
            {
                var (group, _) = Find(tx, step);
                if (group?.Activity(step.ActivityId) is { } activity)
                {
                    // Still in progress: the next pass tries the destroy again.
                    activity.StatusMessage = e.Message;
                    tx.Save(group);
                }

                return 0;
            });
            return;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return;
        }

        // Gone: its container instance goes too, before the group forgets the host (a crash in between repeats both).
        await DeregisterAsync(cluster, step.Host);
        await kernel.CommitAsync(cluster, tx =>
        {
            var (group, host) = Find(tx, step);
            if (group is null)
            {
                return 0;
            }

            if (host is not null)
            {
                group.Hosts.Remove(host);
            }

            group.Activity(step.ActivityId)?.End(tx.Now, ActivityStatus.Successful);
            if (group.Deleting && group.Hosts.Count == 0)
            {
                tx.RemoveHostGroup(group.Name);
            }
            else
            {
                tx.Save(group);
            }

            return 0;
        });
        Log.Terminated(logger, cluster, step.Group, step.Host);
    }

    /// <summary>Deregisters (with force) every container instance that host <paramref name="hostName"/> registered.</summary>
    private async Task DeregisterAsync(string cluster, string hostName)
    {
        var ids = kernel.ReadCluster(cluster, state => state?.Instances.Values
            .Where(i => i.Status != InstanceStatus.Inactive && HostGroupPlanner.IsHost(i, hostName))
            .Select(i => i.Id)
            .ToList() ?? []);
        foreach (var id in ids)
        {
            await instances.DeregisterAsync(cluster, id, force: true, _ => 0);
            Log.Deregistered(logger, cluster, hostName, id);
        }
    }

    /// <summary>
    /// After a start: hosts whose create was in flight are terminated (the create died with the old process), and what the
    /// provisioner has that no group owns is destroyed. False when the provisioner could not be asked (tried again next pass).
    /// </summary>
    private async Task<bool> CollectOrphansAsync(HostProvisioning provisioning, CancellationToken cancellationToken)
    {
        var owned = new HashSet<string>(StringComparer.Ordinal);
        foreach (var cluster in kernel.ClusterNames)
        {
            if (!kernel.ReadCluster(cluster, state => state is { HostGroups.Count: > 0 }))
            {
                continue;
            }

            await kernel.CommitAsync(cluster, tx =>
            {
                foreach (var group in tx.Cluster.HostGroups.Values)
                {
                    foreach (var host in group.Hosts)
                    {
                        owned.Add(host.Name);
                        if (host.State == GroupHostState.Pending)
                        {
                            host.State = GroupHostState.Terminating;
                            group.Activity(host.ActivityId)?.End(tx.Now, ActivityStatus.Cancelled, "The scheduler restarted while the host was being made; it is terminated and replaced.");
                            var activity = HostGroupPlanner.NewActivity(tx.Now, $"Terminating host: {host.Name}",
                                $"At {Asg.At(tx.Now)} host {host.Name} was taken out of service because its launch was interrupted by a scheduler restart.");
                            host.ActivityId = activity.Id;
                            group.Record(activity);
                            tx.Save(group);
                        }
                    }
                }

                return 0;
            });
        }

        try
        {
            var destroyed = await provisioning.CollectOrphansAsync(h => owned.Contains(h.Name), cancellationToken);
            foreach (var name in destroyed)
            {
                Log.OrphanDestroyed(logger, name);
            }

            return true;
        }
        catch (ProvisionerException e)
        {
            Log.OrphansFailed(logger, e.Summary);
            return false;
        }
    }

    private static (HostGroupRecord? Group, GroupHost? Host) Find(ClusterTransaction tx, HostStep step)
    {
        // The same group (not one re-created under the name) and the same host.
        if (!tx.Cluster.HostGroups.TryGetValue(step.Group, out var group) || group.Id != step.GroupId)
        {
            return (null, null);
        }

        return (group, group.Host(step.Host));
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Host group {Cluster}/{Group}: host {Host} launched (zone '{Zone}')")]
        public static partial void Launched(ILogger logger, string cluster, string group, string host, string zone);

        [LoggerMessage(2, LogLevel.Warning, "Host group {Cluster}/{Group}: host {Host} failed to launch: {Reason}")]
        public static partial void LaunchFailed(ILogger logger, string cluster, string group, string host, string reason);

        [LoggerMessage(3, LogLevel.Information, "Host group {Cluster}/{Group}: host {Host} terminated")]
        public static partial void Terminated(ILogger logger, string cluster, string group, string host);

        [LoggerMessage(4, LogLevel.Warning, "Host group {Cluster}/{Group}: host {Host} could not be destroyed (tried again next pass): {Reason}")]
        public static partial void TerminateFailed(ILogger logger, string cluster, string group, string host, string reason);

        [LoggerMessage(5, LogLevel.Information, "Host group host {Host}: container instance {Cluster}/{InstanceId} deregistered")]
        public static partial void Deregistered(ILogger logger, string cluster, string host, string instanceId);

        [LoggerMessage(6, LogLevel.Warning, "Orphan host {Host} (no host group owns it) destroyed")]
        public static partial void OrphanDestroyed(ILogger logger, string host);

        [LoggerMessage(7, LogLevel.Warning, "Orphan hosts could not be collected (tried again next pass): {Reason}")]
        public static partial void OrphansFailed(ILogger logger, string reason);

        [LoggerMessage(8, LogLevel.Error, "Host group pass failed (the next signal or tick runs another)")]
        public static partial void PassFailed(ILogger logger, Exception exception);
    }
}
