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

    /// <summary>The scheduler's address for the hosts' agents (see <see cref="HostGroupOptions.SchedulerUrl"/>).</summary>
    public Uri SchedulerUrl()
    {
        if (options.Value.SchedulerUrl is { } configured)
        {
            return configured;
        }

        var listening = services.GetService<IServer>()?.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault();
        return listening is not null
            ? new Uri(listening.Replace("://+", "://127.0.0.1", StringComparison.Ordinal).Replace("://*", "://127.0.0.1", StringComparison.Ordinal))
            : throw new InvalidOperationException("HostGroups:SchedulerUrl is not set and the scheduler listens on no address yet.");
    }
}
