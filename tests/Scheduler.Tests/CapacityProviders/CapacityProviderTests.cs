using Berth.Scheduler.Provisioning;
using Berth.Scheduler.Tests.HostGroups;
using Berth.Scheduler.Tests.Infrastructure;
using Berth.Scheduler.V1;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Xunit.Abstractions;

namespace Berth.Scheduler.Tests.CapacityProviders;

/// <summary>
/// Capacity providers over real gRPC: ECS's create, describe, update and delete on host groups, PutClusterCapacityProviders
/// and DescribeClusters, ECS's refusals, and the records surviving a restart. The groups have no hosts (desired 0), so
/// the fake provisioner is there only because a host group needs one.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The fake provisioner is disposed in DisposeAsync, after the scheduler.")]
public sealed class CapacityProviderTests(ITestOutputHelper output) : SchedulerTest(output)
{
    private readonly FakeHostProvisioner _provisioner = new();

    private protected override Action<IServiceCollection>? Services => services =>
    {
        services.AddSingleton<IHostProvisioner>(_provisioner);
        services.TryAddSingleton<HostProvisioning>();
    };

    private V1.HostGroups.HostGroupsClient Groups => new(Host.Channel);

    private V1.CapacityProviders.CapacityProvidersClient Providers => new(Host.Channel);

    private V1.Clusters.ClustersClient Clusters => new(Host.Channel);

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await _provisioner.DisposeAsync();
    }

    [Fact]
    public async Task Create_WrapsTheHostGroup_WithEcsDefaults_AndDescribeShowsIt()
    {
        var groupArn = await GroupAsync("web");

        var created = (await Providers.CreateCapacityProviderAsync(new CreateCapacityProviderRequest
        {
            Name = "web-cp",
            AutoScalingGroupProvider = new AutoScalingGroupProvider { AutoScalingGroupArn = groupArn },
        }, Host.Admin)).CapacityProvider;

        Assert.Equal("arn:berth:ecs:local:capacity-provider/web-cp", created.CapacityProviderArn);
        Assert.Equal("ACTIVE", created.Status);
        Assert.Equal("default", created.Cluster);
        var asg = created.AutoScalingGroupProvider;
        Assert.Equal(groupArn, asg.AutoScalingGroupArn);
        Assert.Equal("DISABLED", asg.ManagedTerminationProtection);
        Assert.Equal("ENABLED", asg.ManagedDraining);
        Assert.Equal(new V1.ManagedScaling { Status = "ENABLED", TargetCapacity = 100, MinimumScalingStepSize = 1, MaximumScalingStepSize = 10000, InstanceWarmupPeriod = 300 }, asg.ManagedScaling);

        var described = await Providers.DescribeCapacityProvidersAsync(new DescribeCapacityProvidersRequest { CapacityProviders = { "web-cp", "nope" } }, Host.Admin);
        Assert.Equal(created, Assert.Single(described.CapacityProviders));
        var failure = Assert.Single(described.Failures);
        Assert.Equal(("nope", "MISSING"), (failure.Arn, failure.Reason));
    }

    [Fact]
    public async Task Update_ChangesOnlyWhatIsGiven()
    {
        await GroupAsync("web");
        await CreateAsync("web-cp", "web");

        var updated = (await Providers.UpdateCapacityProviderAsync(new UpdateCapacityProviderRequest
        {
            Name = "arn:berth:ecs:local:capacity-provider/web-cp",
            AutoScalingGroupProvider = new AutoScalingGroupProvider
            {
                ManagedScaling = new V1.ManagedScaling { TargetCapacity = 80, MaximumScalingStepSize = 4 },
                ManagedTerminationProtection = "ENABLED",
            },
        }, Host.Admin)).CapacityProvider;

        Assert.Equal("UPDATE_COMPLETE", updated.UpdateStatus);
        Assert.Equal(new V1.ManagedScaling { Status = "ENABLED", TargetCapacity = 80, MinimumScalingStepSize = 1, MaximumScalingStepSize = 4, InstanceWarmupPeriod = 300 }, updated.AutoScalingGroupProvider.ManagedScaling);
        Assert.Equal("ENABLED", updated.AutoScalingGroupProvider.ManagedTerminationProtection);
        Assert.Equal("ENABLED", updated.AutoScalingGroupProvider.ManagedDraining);
    }

    [Fact]
    public async Task PutClusterCapacityProviders_SetsProvidersAndDefaultStrategy_DescribeClustersShowsThem_AndTheyOutliveARestart()
    {
        await GroupAsync("web");
        await GroupAsync("batch");
        await CreateAsync("web-cp", "web");
        await CreateAsync("batch-cp", "batch", new V1.ManagedScaling { Status = "DISABLED" });

        var put = await Providers.PutClusterCapacityProvidersAsync(new PutClusterCapacityProvidersRequest
        {
            CapacityProviders = { "web-cp", "batch-cp", "FARGATE" },
            DefaultCapacityProviderStrategy =
            {
                new CapacityProviderStrategyItem { CapacityProvider = "web-cp", Base = 2, Weight = 1 },
                new CapacityProviderStrategyItem { CapacityProvider = "batch-cp", Weight = 3 },
            },
        }, Host.Admin);
        Assert.Equal(["web-cp", "batch-cp", "FARGATE"], put.CapacityProviders);

        await RestartAsync();

        var cluster = Assert.Single((await Clusters.DescribeClustersAsync(new DescribeClustersRequest(), Host.Admin)).Clusters);
        Assert.Equal(["web-cp", "batch-cp", "FARGATE"], cluster.CapacityProviders);
        Assert.Equal(
            [("web-cp", 2, 1), ("batch-cp", 0, 3)],
            cluster.DefaultCapacityProviderStrategy.Select(i => (i.CapacityProvider, i.Base, i.Weight)));
        var providers = (await Providers.DescribeCapacityProvidersAsync(new DescribeCapacityProvidersRequest(), Host.Admin)).CapacityProviders;
        Assert.Equal(["batch-cp", "web-cp"], providers.Select(p => p.Name));
        Assert.Equal("DISABLED", providers[0].AutoScalingGroupProvider.ManagedScaling.Status);
        Assert.EndsWith(":autoScalingGroupName/batch", providers[0].AutoScalingGroupProvider.AutoScalingGroupArn, StringComparison.Ordinal);

        // Emptying the list releases the providers.
        await Providers.PutClusterCapacityProvidersAsync(new PutClusterCapacityProvidersRequest(), Host.Admin);
        cluster = Assert.Single((await Clusters.DescribeClustersAsync(new DescribeClustersRequest(), Host.Admin)).Clusters);
        Assert.Empty(cluster.CapacityProviders);
        Assert.Empty(cluster.DefaultCapacityProviderStrategy);
    }

    [Fact]
    public async Task AClusterCreatedAgainUnderADeletedOnesName_StartsWithoutItsCapacityProviders()
    {
        await Clusters.CreateClusterAsync(new CreateClusterRequest { ClusterName = "prod" }, Host.Admin);
        await Groups.CreateHostGroupAsync(new CreateHostGroupRequest { Cluster = "prod", Name = "web", MaxSize = 2 }, Host.Admin);
        await Providers.CreateCapacityProviderAsync(new CreateCapacityProviderRequest
        {
            Cluster = "prod",
            Name = "web-cp",
            AutoScalingGroupProvider = new AutoScalingGroupProvider { AutoScalingGroupArn = "web" },
        }, Host.Admin);
        await Providers.PutClusterCapacityProvidersAsync(new PutClusterCapacityProvidersRequest
        {
            Cluster = "prod",
            CapacityProviders = { "web-cp" },
            DefaultCapacityProviderStrategy = { Item("web-cp", 0, 1) },
        }, Host.Admin);
        var before = Assert.Single((await Clusters.DescribeClustersAsync(new DescribeClustersRequest { Clusters = { "prod" } }, Host.Admin)).Clusters);
        Assert.Equal(["web-cp"], before.CapacityProviders);

        await Clusters.DeleteClusterAsync(new DeleteClusterRequest { Cluster = "prod" }, Host.Admin);
        var again = (await Clusters.CreateClusterAsync(new CreateClusterRequest { ClusterName = "prod" }, Host.Admin)).Cluster;

        Assert.Empty(again.CapacityProviders);
        Assert.Empty(again.DefaultCapacityProviderStrategy);
    }

    [Fact]
    public async Task Delete_IsRefusedWhileAClusterUsesTheProvider_NamingIt_ThenGoes()
    {
        await GroupAsync("web");
        await CreateAsync("web-cp", "web");
        await Providers.PutClusterCapacityProvidersAsync(new PutClusterCapacityProvidersRequest { CapacityProviders = { "web-cp" } }, Host.Admin);

        var e = await Assert.ThrowsAsync<RpcException>(() => Providers.DeleteCapacityProviderAsync(new DeleteCapacityProviderRequest { CapacityProvider = "web-cp" }, Host.Admin).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, e.StatusCode);
        Assert.StartsWith("ResourceInUseException: ", e.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("cluster 'default'", e.Status.Detail, StringComparison.Ordinal);

        await Providers.PutClusterCapacityProvidersAsync(new PutClusterCapacityProvidersRequest(), Host.Admin);
        var deleted = (await Providers.DeleteCapacityProviderAsync(new DeleteCapacityProviderRequest { CapacityProvider = "web-cp" }, Host.Admin)).CapacityProvider;
        Assert.Equal(("INACTIVE", "DELETE_COMPLETE"), (deleted.Status, deleted.UpdateStatus));

        await RestartAsync();
        Assert.Empty((await Providers.DescribeCapacityProvidersAsync(new DescribeCapacityProvidersRequest(), Host.Admin)).CapacityProviders);
        // The group is free for a new provider.
        await CreateAsync("web-cp2", "web");
    }

    [Fact]
    public async Task HostGroupDelete_IsRefusedWhileAProviderWrapsIt()
    {
        await GroupAsync("web");
        await CreateAsync("web-cp", "web");

        var e = await Assert.ThrowsAsync<RpcException>(() => Groups.DeleteHostGroupAsync(new DeleteHostGroupRequest { Name = "web" }, Host.Admin).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, e.StatusCode);
        Assert.Contains("capacity provider 'web-cp'", e.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BadInput_IsRefusedInEcsWords_AndChangesNothing()
    {
        var groupArn = await GroupAsync("web");
        await GroupAsync("other");
        await CreateAsync("web-cp", "web");

        async Task<RpcException> Refused(Func<Task> call) => await Assert.ThrowsAsync<RpcException>(call);
        Task Create(string name, string group, V1.ManagedScaling? scaling = null, string protection = "") =>
            Providers.CreateCapacityProviderAsync(new CreateCapacityProviderRequest
            {
                Name = name,
                AutoScalingGroupProvider = new AutoScalingGroupProvider { AutoScalingGroupArn = group, ManagedScaling = scaling, ManagedTerminationProtection = protection },
            }, Host.Admin).ResponseAsync;

        foreach (var reserved in (string[])["FARGATE", "fargate-mine", "aws-x", "ECS1"])
        {
            var r = await Refused(() => Create(reserved, "other"));
            Assert.Equal(StatusCode.InvalidArgument, r.StatusCode);
            Assert.Contains("can't be prefixed with \"aws\", \"ecs\", or \"fargate\"", r.Status.Detail, StringComparison.Ordinal);
        }

        var e = await Refused(() => Create("bad name", "other"));
        Assert.StartsWith("ClientException: ", e.Status.Detail, StringComparison.Ordinal);

        e = await Refused(() => Create("second", groupArn));
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains("already in use by capacity provider 'web-cp'", e.Status.Detail, StringComparison.Ordinal);

        e = await Refused(() => Create("web-cp", "other"));
        Assert.Equal(StatusCode.AlreadyExists, e.StatusCode);

        e = await Refused(() => Create("x", "missing"));
        Assert.Contains("'missing' does not exist", e.Status.Detail, StringComparison.Ordinal);

        e = await Refused(() => Create("x", "other", new V1.ManagedScaling { TargetCapacity = 101 }));
        Assert.Equal("InvalidParameterException: managedScaling.targetCapacity 101 must be between 1 and 100.", e.Status.Detail);

        e = await Refused(() => Create("x", "other", new V1.ManagedScaling { MinimumScalingStepSize = 5, MaximumScalingStepSize = 4 }));
        Assert.Contains("must not be less than minimumScalingStepSize", e.Status.Detail, StringComparison.Ordinal);

        e = await Refused(() => Create("x", "other", new V1.ManagedScaling { Status = "DISABLED" }, "ENABLED"));
        Assert.Contains("managed scaling must be enabled", e.Status.Detail, StringComparison.Ordinal);

        e = await Refused(() => Create("x", "other", new V1.ManagedScaling { Status = "ON" }));
        Assert.Contains("must be ENABLED or DISABLED", e.Status.Detail, StringComparison.Ordinal);

        Task Put(params CapacityProviderStrategyItem[] strategy) => Providers.PutClusterCapacityProvidersAsync(new PutClusterCapacityProvidersRequest
        {
            CapacityProviders = { "web-cp", "FARGATE" },
            DefaultCapacityProviderStrategy = { strategy },
        }, Host.Admin).ResponseAsync;

        e = await Refused(() => Put(Item("web-cp", 1, 1), Item("FARGATE", 1, 1)));
        Assert.Equal("InvalidParameterException: Only one capacity provider in a capacity provider strategy can have a base defined.", e.Status.Detail);

        e = await Refused(() => Put(Item("web-cp", 100001, 1)));
        Assert.Contains("between 0 and 100000", e.Status.Detail, StringComparison.Ordinal);

        e = await Refused(() => Put(Item("web-cp", 0, 1001)));
        Assert.Contains("between 0 and 1000", e.Status.Detail, StringComparison.Ordinal);

        e = await Refused(() => Put(Item("web-cp", 1, 0)));
        Assert.Contains("weight greater than 0", e.Status.Detail, StringComparison.Ordinal);

        e = await Refused(() => Put(Item("FARGATE_SPOT", 0, 1)));
        Assert.Contains("not associated with the cluster", e.Status.Detail, StringComparison.Ordinal);

        e = await Refused(() => Providers.PutClusterCapacityProvidersAsync(new PutClusterCapacityProvidersRequest { CapacityProviders = { "nope" } }, Host.Admin).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, e.StatusCode);

        e = await Refused(() => Providers.PutClusterCapacityProvidersAsync(new PutClusterCapacityProvidersRequest { Cluster = "ghost" }, Host.Admin).ResponseAsync);
        Assert.Equal("ClusterNotFoundException: Cluster 'ghost' not found.", e.Status.Detail);

        // Nothing of the refused calls stayed.
        Assert.Equal(["web-cp"], (await Providers.DescribeCapacityProvidersAsync(new DescribeCapacityProvidersRequest(), Host.Admin)).CapacityProviders.Select(p => p.Name));
        Assert.Empty(Assert.Single((await Clusters.DescribeClustersAsync(new DescribeClustersRequest(), Host.Admin)).Clusters).CapacityProviders);
    }

    private async Task<string> GroupAsync(string name) =>
        (await Groups.CreateHostGroupAsync(new CreateHostGroupRequest { Name = name, MinSize = 0, MaxSize = 4 }, Host.Admin)).HostGroupArn;

    private async Task CreateAsync(string name, string group, V1.ManagedScaling? scaling = null) =>
        await Providers.CreateCapacityProviderAsync(new CreateCapacityProviderRequest
        {
            Name = name,
            AutoScalingGroupProvider = new AutoScalingGroupProvider { AutoScalingGroupArn = group, ManagedScaling = scaling },
        }, Host.Admin);

    private static CapacityProviderStrategyItem Item(string provider, int @base, int weight) => new() { CapacityProvider = provider, Base = @base, Weight = weight };
}
