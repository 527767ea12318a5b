using Berth.Scheduler.Provisioning;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;

namespace Berth.Scheduler.HostGroups;

/// <summary>
/// What host groups make hosts with: <see cref="HostProvisioning"/> when a provisioner is configured (null otherwise:
/// the scheduler starts fine without one, and creating a group is refused), and the address the hosts register with.
/// </summary>
internal sealed class HostGroupProvisioner(IServiceProvider services, IOptions<HostGroupOptions> options)
{
    public HostProvisioning? Provisioning { get; } = services.GetService<HostProvisioning>();

    /// <summary>
    /// Completes once the host has started. Until then the server's addresses are the configured ones, not the bound
    /// ones: a scheduler configured with port 0 (as tests are) still reads ":0", and a host made with that address
    /// could never register. Host groups make no host before this.
    /// </summary>
    public async Task WhenListeningAsync(CancellationToken cancellationToken)
    {
        if (options.Value.SchedulerUrl is not null || services.GetService<IHostApplicationLifetime>() is not { } lifetime)
        {
            return;
        }

        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var registration = lifetime.ApplicationStarted.Register(() => started.TrySetResult());
        await started.Task.WaitAsync(cancellationToken);
    }

    /// <summary>The scheduler's address for the hosts' agents (see <see cref="HostGroupOptions.SchedulerUrl"/>).</summary>
    public Uri SchedulerUrl()
    {
        if (options.Value.SchedulerUrl is { } configured)
        {
            return configured;
        }

        var listening = services.GetService<IServer>()?.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault();
        return listening is not null && !listening.EndsWith(":0", StringComparison.Ordinal)
            ? new Uri(listening.Replace("://+", "://127.0.0.1", StringComparison.Ordinal).Replace("://*", "://127.0.0.1", StringComparison.Ordinal))
            : throw new InvalidOperationException("HostGroups:SchedulerUrl is not set and the scheduler listens on no bound address yet.");
    }
}
