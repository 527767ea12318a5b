using Berth.Scheduler.Tests.HostGroups;
using Berth.Scheduler.Tests.Infrastructure;
using Berth.Scheduler.V1;
using Berth.TestSupport;
using Grpc.Core;
using Xunit.Abstractions;

namespace Berth.Scheduler.Tests.CapacityProviders;

/// <summary>
/// Capacity provider strategies on RunTask and services over real gRPC: two host groups whose hosts are simulated agents
/// made by the fake provisioner, a provider over each, and one hand-registered host in no group that a strategy's tasks
/// must never land on.
/// </summary>
public sealed class CapacityProviderStrategyTests(ITestOutputHelper output) : HostGroupTest(output)
{
    private SimulatedAgent? _stray;

    private protected override IDictionary<string, string?>? Settings => new Dictionary<string, string?>
    {
        ["Scheduler:ServiceReconcileInterval"] = "00:00:00.200",
    };

    public override async Task DisposeAsync()
    {
        if (_stray is not null)
        {
            await _stray.DisposeAsync();
        }

        await base.DisposeAsync();
    }

    [Fact]
    public async Task RunTask_WithBothLaunchTypeAndStrategy_IsInvalidParameterInEcsWords_AndPlacesNothing()
    {
        var (hostsA, _) = await TwoProvidersAsync();

        var e = await Assert.ThrowsAsync<RpcException>(() => Host.Tasks.RunTaskAsync(new RunTaskRequest
        {
            TaskDefinition = "web",
            LaunchType = "EC2",
            CapacityProviderStrategy = { Item("a-cp", 0, 1) },
        }, Host.Admin).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Equal("InvalidParameterException: Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again.", e.Status.Detail);
        Assert.Empty((await Host.Tasks.ListTasksAsync(new ListTasksRequest(), Host.Admin)).TaskArns);
        Assert.NotEmpty(hostsA);
    }

    [Fact]
    public async Task RunTask_WithAProviderNotAssociatedWithTheCluster_IsInvalidParameter()
    {
        await TwoProvidersAsync(associate: ["a-cp"]);

        var e = await Assert.ThrowsAsync<RpcException>(() => Host.Tasks.RunTaskAsync(new RunTaskRequest
        {
            TaskDefinition = "web",
            CapacityProviderStrategy = { Item("b-cp", 0, 1) },
        }, Host.Admin).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.StartsWith("InvalidParameterException: The specified capacity provider strategy cannot contain a capacity provider ('b-cp') that is not associated with the cluster.", e.Status.Detail, StringComparison.Ordinal);
        Assert.Empty((await Host.Tasks.ListTasksAsync(new ListTasksRequest(), Host.Admin)).TaskArns);
    }

    [Fact]
    public async Task RunTask_SplitsBaseThenWeight_EachTaskOnItsProvidersHosts_AndTheNameOutlivesARestart()
    {
        var (hostsA, hostsB) = await TwoProvidersAsync();

        // a-cp: base 1, weight 1; b-cp: weight 3. Five tasks: the base on a-cp, then the four beyond it 1:3.
        var run = await Host.Tasks.RunTaskAsync(new RunTaskRequest
        {
            TaskDefinition = "web",
            Count = 5,
            CapacityProviderStrategy = { Item("a-cp", 1, 1), Item("b-cp", 0, 3) },
        }, Host.Admin);

        Assert.Empty(run.Failures);
        Assert.Equal(2, run.Tasks.Count(t => t.CapacityProviderName == "a-cp"));
        Assert.Equal(3, run.Tasks.Count(t => t.CapacityProviderName == "b-cp"));
        Assert.All(run.Tasks, t => Assert.Contains(t.ContainerInstanceArn, t.CapacityProviderName == "a-cp" ? hostsA : hostsB));
        Assert.All(run.Tasks, t => Assert.Equal("EC2", t.LaunchType));

        await RestartAsync();

        var described = (await Host.Tasks.DescribeTasksAsync(new DescribeTasksRequest { Tasks = { run.Tasks.Select(t => t.TaskArn) } }, Host.Admin)).Tasks;
        Assert.Equal(
            run.Tasks.Select(t => (t.TaskArn, t.CapacityProviderName)).Order(),
            described.Select(t => (t.TaskArn, t.CapacityProviderName)).Order());
    }

    [Fact]
    public async Task RunTask_WithNeitherLaunchTypeNorStrategy_UsesTheClustersDefaultStrategy_AndALaunchTypeBypassesIt()
    {
        var (_, hostsB) = await TwoProvidersAsync(defaultStrategy: [Item("b-cp", 0, 1)]);

        var byDefault = await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web", Count = 3 }, Host.Admin);

        Assert.Equal(3, byDefault.Tasks.Count);
        Assert.All(byDefault.Tasks, t => Assert.Equal("b-cp", t.CapacityProviderName));
        Assert.All(byDefault.Tasks, t => Assert.Contains(t.ContainerInstanceArn, hostsB));

        var byLaunchType = await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web", LaunchType = "EC2" }, Host.Admin);
        Assert.Equal("", Assert.Single(byLaunchType.Tasks).CapacityProviderName);
    }

    [Fact]
    public async Task RunTask_OnAProviderWithoutHostsNorManagedScaling_FailsEachTaskNamingTheProvider()
    {
        // With managed scaling (ECS's default) the tasks would wait in PROVISIONING instead (ProvisioningTests).
        await TwoProvidersAsync(emptyGroup: "c");
        await Providers.UpdateCapacityProviderAsync(new UpdateCapacityProviderRequest
        {
            Name = "c-cp",
            AutoScalingGroupProvider = new AutoScalingGroupProvider { ManagedScaling = new V1.ManagedScaling { Status = "DISABLED" } },
        }, Host.Admin);

        var run = await Host.Tasks.RunTaskAsync(new RunTaskRequest
        {
            TaskDefinition = "web",
            Count = 2,
            CapacityProviderStrategy = { Item("c-cp", 0, 1) },
        }, Host.Admin);

        Assert.Empty(run.Tasks);
        Assert.Equal(2, run.Failures.Count);
        Assert.All(run.Failures, f => Assert.Equal("Capacity provider 'c-cp' has no registered hosts (host group 'c').", f.Detail));
    }

    [Fact]
    public async Task Service_KeepsItsSplitAsItGrowsAndShrinks_AndItsProviderCannotBeRemovedFromTheCluster()
    {
        var (hostsA, hostsB) = await TwoProvidersAsync();
        var created = (await Host.ServicesApi.CreateServiceAsync(new CreateServiceRequest
        {
            ServiceName = "api",
            TaskDefinition = "web",
            DesiredCount = 4,
            CapacityProviderStrategy = { Item("a-cp", 2, 1), Item("b-cp", 0, 1) },
        }, Host.Admin)).Service;
        Assert.Equal("", created.LaunchType);
        Assert.Equal([("a-cp", 2, 1), ("b-cp", 0, 1)], created.CapacityProviderStrategy.Select(i => (i.CapacityProvider, i.Base, i.Weight)));

        // As in ECS a strategy's service has no launch type: a launch-type filter does not list it.
        await Host.ServicesApi.CreateServiceAsync(new CreateServiceRequest { ServiceName = "plain", TaskDefinition = "web", LaunchType = "EC2" }, Host.Admin);
        Assert.Equal(["plain"], (await Host.ServicesApi.ListServicesAsync(new ListServicesRequest { LaunchType = "EC2" }, Host.Admin)).ServiceArns.Select(a => a.Split('/')[^1]));

        // Base 2 on a-cp, then 1:1 from there (ties to the first listed): a 3, b 1.
        var tasks = await ServiceTasksAsync("api", 4);
        Assert.Equal(3, tasks.Count(t => t.CapacityProviderName == "a-cp"));
        Assert.Equal(1, tasks.Count(t => t.CapacityProviderName == "b-cp"));
        Assert.All(tasks, t => Assert.Contains(t.ContainerInstanceArn, t.CapacityProviderName == "a-cp" ? hostsA : hostsB));

        // Growing to 6 counts the tasks each provider already runs: the two new go one each (a 4, b 2), not both to a.
        await Host.ServicesApi.UpdateServiceAsync(new UpdateServiceRequest { Service = "api", DesiredCount = 6 }, Host.Admin);
        tasks = await ServiceTasksAsync("api", 6);
        Assert.Equal(4, tasks.Count(t => t.CapacityProviderName == "a-cp"));
        Assert.Equal(2, tasks.Count(t => t.CapacityProviderName == "b-cp"));

        // Shrinking to 3 stops from the providers above their share of 3 (a 3, b 0): both of b's go, and one of a's.
        await Host.ServicesApi.UpdateServiceAsync(new UpdateServiceRequest { Service = "api", DesiredCount = 3 }, Host.Admin);
        tasks = await ServiceTasksAsync("api", 3);
        Assert.All(tasks, t => Assert.Equal("a-cp", t.CapacityProviderName));

        var e = await Assert.ThrowsAsync<RpcException>(() => Providers.PutClusterCapacityProvidersAsync(new PutClusterCapacityProvidersRequest
        {
            CapacityProviders = { "a-cp" },
        }, Host.Admin).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, e.StatusCode);
        Assert.StartsWith("ResourceInUseException: The specified capacity provider 'b-cp' is in use by service 'api'", e.Status.Detail, StringComparison.Ordinal);
        var cluster = Assert.Single((await Host.Clusters.DescribeClustersAsync(new DescribeClustersRequest(), Host.Admin)).Clusters);
        Assert.Equal(["a-cp", "b-cp"], cluster.CapacityProviders);

        // Once the service goes back to its launch type (an empty strategy) the provider can go.
        var updated = (await Host.ServicesApi.UpdateServiceAsync(new UpdateServiceRequest { Service = "api", CapacityProviderStrategySet = true }, Host.Admin)).Service;
        Assert.Empty(updated.CapacityProviderStrategy);
        Assert.Equal("EC2", updated.LaunchType);
        await Providers.PutClusterCapacityProvidersAsync(new PutClusterCapacityProvidersRequest { CapacityProviders = { "a-cp" } }, Host.Admin);
    }

    [Fact]
    public async Task Service_StrategyOutlivesARestart()
    {
        await TwoProvidersAsync(defaultStrategy: [Item("a-cp", 0, 1)]);
        await Host.ServicesApi.CreateServiceAsync(new CreateServiceRequest { ServiceName = "api", TaskDefinition = "web", DesiredCount = 0 }, Host.Admin);

        await RestartAsync();

        var service = Assert.Single((await Host.ServicesApi.DescribeServicesAsync(new DescribeServicesRequest { Services = { "api" } }, Host.Admin)).Services);
        Assert.Equal([("a-cp", 0, 1)], service.CapacityProviderStrategy.Select(i => (i.CapacityProvider, i.Base, i.Weight)));
    }

    /// <summary>
    /// Host groups a and b of two hosts each, providers a-cp and b-cp over them associated with the cluster (or only
    /// <paramref name="associate"/>), a stray host in no group, and the task definition web. Answers each group's hosts
    /// as container instance ARNs.
    /// </summary>
    private async Task<(HashSet<string> A, HashSet<string> B)> TwoProvidersAsync(
        IReadOnlyList<string>? associate = null, IReadOnlyList<CapacityProviderStrategyItem>? defaultStrategy = null, string? emptyGroup = null)
    {
        _stray = await SimulatedAgent.RegisterAsync(Host);
        await Host.TaskDefinitions.RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest { TaskDefinitionJson = TaskDefinitionSamples.Web() }, Host.Admin);
        var groups = new List<(string Name, int Size)> { ("a", 2), ("b", 2) };
        if (emptyGroup is not null)
        {
            groups.Add((emptyGroup, 0));
        }

        foreach (var (name, size) in groups)
        {
            await Groups.CreateHostGroupAsync(new CreateHostGroupRequest { Name = name, MinSize = 0, MaxSize = 4, DesiredCapacity = size }, Host.Admin);
            await Providers.CreateCapacityProviderAsync(new CreateCapacityProviderRequest
            {
                Name = name + "-cp",
                AutoScalingGroupProvider = new AutoScalingGroupProvider { AutoScalingGroupArn = name },
            }, Host.Admin);
        }

        await Providers.PutClusterCapacityProvidersAsync(new PutClusterCapacityProvidersRequest
        {
            CapacityProviders = { associate ?? groups.Select(g => g.Name + "-cp") },
            DefaultCapacityProviderStrategy = { defaultStrategy ?? [] },
        }, Host.Admin);
        return (await InServiceAsync("a", 2), await InServiceAsync("b", 2));
    }

    private async Task<HashSet<string>> InServiceAsync(string group, int count)
    {
        HostGroup? found = null;
        await TaskTimeouts.WaitUntilAsync(
            async () => (found = (await Groups.DescribeHostGroupsAsync(new DescribeHostGroupsRequest { Names = { group } }, Host.Admin)).HostGroups.Single())
                .Hosts.Count(h => h.LifecycleState == "InService" && h.ContainerInstanceArn.Length > 0) == count,
            what: $"{count} hosts of group {group} in service");
        return [.. found!.Hosts.Select(h => h.ContainerInstanceArn)];
    }

    private async Task<List<TaskInfo>> ServiceTasksAsync(string service, int count)
    {
        List<TaskInfo> tasks = [];
        await TaskTimeouts.WaitUntilAsync(
            async () =>
            {
                var arns = (await Host.Tasks.ListTasksAsync(new ListTasksRequest { ServiceName = service }, Host.Admin)).TaskArns;
                tasks = arns.Count == 0 ? [] : [.. (await Host.Tasks.DescribeTasksAsync(new DescribeTasksRequest { Tasks = { arns } }, Host.Admin)).Tasks];
                return tasks.Count == count;
            },
            what: $"{count} tasks of service {service}");
        return tasks;
    }

    private static CapacityProviderStrategyItem Item(string provider, int @base, int weight) => new() { CapacityProvider = provider, Base = @base, Weight = weight };
}
