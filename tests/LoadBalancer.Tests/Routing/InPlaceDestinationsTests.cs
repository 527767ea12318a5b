using Berth.LoadBalancer.Routing;
using Berth.LoadBalancer.Tests.Infrastructure;
using Berth.Scheduler.V1;
using Berth.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;
using Yarp.ReverseProxy;
using Yarp.ReverseProxy.Configuration;
using static Berth.LoadBalancer.Tests.Infrastructure.Configs;

namespace Berth.LoadBalancer.Tests.Routing;

/// <summary>
/// Target changes go into YARP's running clusters without a configuration reload; anything else still reloads, and
/// starts from the destinations written in place.
/// </summary>
public sealed class InPlaceDestinationsTests(ITestOutputHelper output)
{
    [Fact]
    public async Task TargetChanges_ReachRouting_WithoutAConfigurationReload()
    {
        var port = TestPorts.Next();
        await using var old = await TargetServer.StartAsync("old");
        await using var next = await TargetServer.StartAsync("next");
        await using var lab = await Lab.StartAsync(output, Snapshot(1, [Http(port, Forward("web"))], [Group("web", [old.Port]), Group("other", [old.Port])]));
        using var client = Lab.Client(port);
        var running = lab.Balancer.Services.GetRequiredService<RunningClusters>();
        var applied = running.Applied;
        Assert.NotNull(applied);
        Assert.Equal("old", await client.GetStringAsync("/").WithTimeout());

        // A new task's target registered and the old one deregistered (draining): YARP reloads nothing.
        await lab.Scheduler.PushAsync(Delta(1, 2, Register("web", next.Port), Drain("web", old.Port)));
        await lab.Balancer.WaitForVersionAsync(2);

        Assert.Same(applied, running.Applied);
        Assert.False(applied.ChangeToken.HasChanged);
        // The draining target stays a destination (its in-flight requests are counted there) but takes no new request.
        Assert.Equal(Keys(next.Port, old.Port), RunningDestinations(lab, "web"));
        var oldHits = old.Hits;
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal("next", await client.GetStringAsync("/").WithTimeout());
        }

        Assert.Equal(oldHits, old.Hits);

        // Draining over: the target goes, still without a reload; the other group is untouched.
        await lab.Scheduler.PushAsync(Delta(2, 3, Deregistered("web", old.Port)));
        await lab.Balancer.WaitForVersionAsync(3);

        Assert.Same(applied, running.Applied);
        Assert.Equal(Keys(next.Port), RunningDestinations(lab, "web"));
        Assert.Equal(Keys(old.Port), RunningDestinations(lab, "other"));
        Assert.Equal("next", await client.GetStringAsync("/").WithTimeout());
        // What the provider answers is what runs, so that the next reload starts from it.
        var provided = lab.Balancer.Services.GetRequiredService<IProxyConfigProvider>().GetConfig();
        Assert.Equal(Keys(next.Port), provided.Clusters.Single(c => c.ClusterId == GroupArn("web")).Destinations!.Keys);
        Assert.False(provided.ChangeToken.HasChanged);
    }

    [Fact]
    public async Task RuleChange_ReloadsTheConfiguration_AndKeepsTheDestinationsWrittenInPlace()
    {
        var port = TestPorts.Next();
        await using var old = await TargetServer.StartAsync("old");
        await using var next = await TargetServer.StartAsync("next");
        await using var api = await TargetServer.StartAsync("api");
        await using var lab = await Lab.StartAsync(output, Snapshot(1, [Http(port, Forward("web"))], [Group("web", [old.Port]), Group("api", [api.Port])]));
        using var client = Lab.Client(port);
        var running = lab.Balancer.Services.GetRequiredService<RunningClusters>();
        await lab.Scheduler.PushAsync(Delta(1, 2, Register("web", next.Port), Deregistered("web", old.Port)));
        await lab.Balancer.WaitForVersionAsync(2);
        var applied = running.Applied;
        Assert.NotNull(applied);

        await lab.Scheduler.PushAsync(Delta(2, 3, new ConfigChange { RuleUpserted = Rule(port, 10, Forward("api"), Path("/api/*")) }));
        await lab.Balancer.WaitForVersionAsync(3);

        Assert.True(applied.ChangeToken.HasChanged);
        await TaskTimeouts.WaitUntilAsync(() => Task.FromResult(!ReferenceEquals(applied, running.Applied)), TimeSpan.FromSeconds(60), "YARP to apply the new configuration");
        Assert.Equal("api", await client.GetStringAsync("/api/users").WithTimeout());
        var oldHits = old.Hits;
        Assert.Equal("next", await client.GetStringAsync("/").WithTimeout());
        Assert.Equal(Keys(next.Port), RunningDestinations(lab, "web"));
        Assert.Equal(oldHits, old.Hits);

        // And target changes after the reload go in place again.
        var reloaded = running.Applied;
        await lab.Scheduler.PushAsync(Delta(3, 4, Register("api", old.Port)));
        await lab.Balancer.WaitForVersionAsync(4);
        Assert.Same(reloaded, running.Applied);
        // YARP debounces rebuilds of a cluster's destination state (ClusterDestinationsUpdater): when another rebuild
        // of the cluster (a health result) is running, the in-place write can land just after the version is reported.
        await TaskTimeouts.WaitUntilAsync(
            () => Task.FromResult(Keys(api.Port, old.Port).SequenceEqual(RunningDestinations(lab, "api"))), TimeSpan.FromSeconds(60), "the api group's destinations in place");
        Assert.Same(reloaded, running.Applied);
    }

    private static string[] Keys(params int[] ports) => [.. ports.Select(p => $"127.0.0.1:{p}").Order(StringComparer.Ordinal)];

    private static string[] RunningDestinations(Lab lab, string group)
    {
        Assert.True(lab.Balancer.Services.GetRequiredService<IProxyStateLookup>().TryGetCluster(GroupArn(group), out var cluster));
        return [.. cluster.DestinationsState.AllDestinations.Select(d => d.DestinationId).Order(StringComparer.Ordinal)];
    }
}
