using Berth.Scheduler.Provisioning;
using Berth.Scheduler.Tests.Infrastructure;
using Berth.Scheduler.V1;
using Berth.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Xunit.Abstractions;

namespace Berth.Scheduler.Tests.HostGroups;

/// <summary>
/// A scheduler whose host provisioner is a <see cref="FakeHostProvisioner"/> (hosts are simulated agents), with the
/// HostGroups and CapacityProviders clients and the waits the host group and capacity provider tests share. The fake
/// outlives restarts and is disposed after the scheduler.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The fake provisioner is disposed in DisposeAsync, after the scheduler.")]
public abstract class HostGroupTest(ITestOutputHelper output) : SchedulerTest(output)
{
    private protected FakeHostProvisioner Provisioner { get; } = new();

    private protected override Action<IServiceCollection>? Services => services =>
    {
        services.AddSingleton<IHostProvisioner>(Provisioner);
        ConfigureProvisioning(services);
        services.TryAddSingleton<HostProvisioning>();
    };

    private protected V1.HostGroups.HostGroupsClient Groups => new(Host.Channel);

    private protected V1.CapacityProviders.CapacityProvidersClient Providers => new(Host.Channel);

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await Provisioner.DisposeAsync();
    }

    /// <summary>More settings of the provisioning layer (retries, timeouts) for a test class; none by default.</summary>
    private protected virtual void ConfigureProvisioning(IServiceCollection services)
    {
    }

    private protected async Task<HostGroup> DescribeGroupAsync(string name) =>
        (await Groups.DescribeHostGroupsAsync(new DescribeHostGroupsRequest { Names = { name } }, Host.Admin)).HostGroups.Single();

    private protected async Task<HostGroup> WaitForGroupAsync(string name, Func<HostGroup, bool> condition, string what)
    {
        HostGroup? last = null;
        await TaskTimeouts.WaitUntilAsync(async () => condition(last = await DescribeGroupAsync(name)), what: what);
        return last!;
    }

    private protected async Task<List<V1.HostGroupActivity>> ActivitiesAsync(string name) =>
        [.. (await Groups.DescribeHostGroupActivitiesAsync(new DescribeHostGroupActivitiesRequest { Name = name }, Host.Admin)).Activities];
}
