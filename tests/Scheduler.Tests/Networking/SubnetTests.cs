using Berth.Scheduler.Tests.Infrastructure;
using Berth.Scheduler.Tests.Services;
using Berth.Scheduler.V1;
using Berth.TestSupport;
using Grpc.Core;
using Xunit.Abstractions;

namespace Berth.Scheduler.Tests.Networking;

/// <summary>
/// Subnets (ECS awsvpcConfiguration.subnets) over real gRPC with simulated agents in two zones: a subnet is a zone of the
/// cluster, and tasks and services that name subnets are placed only in their zones.
/// </summary>
public sealed class SubnetTests(ITestOutputHelper output) : ServiceTest(output)
{
    private const string Awsvpc = """
        {"family":"api","networkMode":"awsvpc","cpu":"256","memory":"512",
         "containerDefinitions":[{"name":"app","image":"registry.local/api:1","portMappings":[{"containerPort":8080}]}]}
        """;

    private static NetworkConfiguration InSubnets(params string[] subnets) =>
        new() { AwsvpcConfiguration = new AwsvpcNetworkConfiguration { Subnets = { subnets } } };

    private static async Task<RpcException> RefusedAsync(Func<Task> call) => await Assert.ThrowsAsync<RpcException>(call);

    private async Task<Dictionary<string, Subnet>> SubnetsByZoneAsync() =>
        (await Host.Clusters.DescribeSubnetsAsync(new DescribeSubnetsRequest(), Host.Admin)).Subnets.ToDictionary(s => s.AvailabilityZone);

    private async Task<List<TaskInfo>> DescribeTasksAsync(IEnumerable<string> ids) =>
        [.. (await Host.Tasks.DescribeTasksAsync(new DescribeTasksRequest { Tasks = { ids } }, Host.Admin)).Tasks];

    [Fact]
    public async Task DescribeSubnets_ShowsOneSubnetPerZone_WithStableIds_TheClustersCidr_AndEachHostsTaskSubnet()
    {
        var a1 = await StartAgentAsync("zone-a");
        var a2 = await StartAgentAsync("zone-a");
        var b = await StartAgentAsync("zone-b");

        var subnets = await SubnetsByZoneAsync();

        Assert.Equal(["zone-a", "zone-b"], subnets.Keys.Order(StringComparer.Ordinal));
        var cidr = (await Host.Clusters.DescribeClustersAsync(new DescribeClustersRequest(), Host.Admin)).Clusters[0].TaskCidr;
        Assert.NotEmpty(cidr);
        Assert.All(subnets.Values, s =>
        {
            Assert.Matches("^subnet-[0-9a-f]{17}$", s.SubnetId);
            Assert.Equal(cidr, s.CidrBlock);
            Assert.All(s.Hosts, h => Assert.NotEmpty(h.TaskSubnet));
        });
        Assert.NotEqual(subnets["zone-a"].SubnetId, subnets["zone-b"].SubnetId);
        Assert.Equal(
            new[] { a1, a2 }.Select(p => p.Agent.Registration.ContainerInstanceArn).Order(StringComparer.Ordinal),
            subnets["zone-a"].Hosts.Select(h => h.ContainerInstanceArn).Order(StringComparer.Ordinal));
        Assert.Equal(b.Agent.Registration.ContainerInstanceArn, Assert.Single(subnets["zone-b"].Hosts).ContainerInstanceArn);

        // The id is derived from the cluster and the zone: asked again (or by another scheduler) it is the same.
        var again = Assert.Single((await Host.Clusters.DescribeSubnetsAsync(new DescribeSubnetsRequest { SubnetIds = { subnets["zone-b"].SubnetId } }, Host.Admin)).Subnets);
        Assert.Equal(("zone-b", subnets["zone-b"].SubnetId), (again.AvailabilityZone, again.SubnetId));
        var unknown = await RefusedAsync(() => Host.Clusters.DescribeSubnetsAsync(new DescribeSubnetsRequest { SubnetIds = { "subnet-0123456789abcdef0" } }, Host.Admin).ResponseAsync);
        Assert.Equal((StatusCode.NotFound, "InvalidSubnetID.NotFound: The subnet ID 'subnet-0123456789abcdef0' does not exist"), (unknown.StatusCode, unknown.Status.Detail));
    }

    [Fact]
    public async Task RunTask_WithOneSubnet_PlacesEveryTaskInItsZone_AndDescribeShowsTheSubnet()
    {
        var a = await StartAgentAsync("zone-a");
        var b = await StartAgentAsync("zone-b");
        await RegisterAsync(Awsvpc);
        var zoneB = (await SubnetsByZoneAsync())["zone-b"].SubnetId;

        // Six tasks with equal hosts would alternate between them (most remaining memory first): all six go to zone-b.
        var run = await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "api", Count = 6, NetworkConfiguration = InSubnets(zoneB) }, Host.Admin);

        Assert.Empty(run.Failures);
        Assert.Equal(6, run.Tasks.Count);
        Assert.All(run.Tasks, t =>
        {
            Assert.Equal(b.Agent.Registration.ContainerInstanceArn, t.ContainerInstanceArn);
            Assert.Equal([zoneB], t.NetworkConfiguration.AwsvpcConfiguration.Subnets);
        });

        // Once running, ECS's attachment names the subnet by id, and the host's task subnet beside it.
        var ids = run.Tasks.Select(t => t.TaskId).ToList();
        await TaskTimeouts.WaitUntilAsync(async () => (await DescribeTasksAsync(ids)).TrueForAll(t => t.Attachments.Count == 1), what: "the tasks' attachments");
        Assert.All(await DescribeTasksAsync(ids), t =>
        {
            var details = t.Attachments[0].Details.ToDictionary(d => d.Name, d => d.Value);
            Assert.Equal(zoneB, details["subnetId"]);
            Assert.NotEmpty(details["taskSubnet"]);
        });

        // Without subnets the same call uses both zones.
        var free = await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "api", Count = 2 }, Host.Admin);
        Assert.Contains(free.Tasks, t => t.ContainerInstanceArn == a.Agent.Registration.ContainerInstanceArn);
        Assert.All(free.Tasks, t => Assert.Empty(t.NetworkConfiguration.AwsvpcConfiguration.Subnets));
    }

    [Fact]
    public async Task Service_KeepsToItsSubnetAcrossScaleOut_ShowsIt_AndNewSubnetsStartADeployment()
    {
        var a = await StartAgentAsync("zone-a");
        var b = await StartAgentAsync("zone-b");
        await RegisterAsync(Awsvpc);
        var subnets = await SubnetsByZoneAsync();
        var zoneA = subnets["zone-a"].SubnetId;

        var created = await CreateAsync(new CreateServiceRequest { ServiceName = "api", TaskDefinition = "api", DesiredCount = 2, NetworkConfiguration = InSubnets(zoneA) });
        Assert.Equal([zoneA], created.NetworkConfiguration.AwsvpcConfiguration.Subnets);
        await WaitForServiceAsync("api", s => s.RunningCount == 2, "two tasks running");
        await UpdateAsync(new UpdateServiceRequest { Service = "api", DesiredCount = 6 });
        await WaitForServiceAsync("api", s => s.RunningCount == 6, "six tasks running");

        var tasks = await TasksAsync("api");
        Assert.Equal(6, tasks.Count);
        Assert.All(tasks, t => Assert.Equal(a.Agent.Registration.ContainerInstanceArn, t.ContainerInstanceArn));
        Assert.All(tasks, t => Assert.Equal([zoneA], t.NetworkConfiguration.AwsvpcConfiguration.Subnets));
        Assert.Equal([zoneA], (await DescribeAsync("api")).NetworkConfiguration.AwsvpcConfiguration.Subnets);

        // Moving the service to zone-b is a deployment: its new tasks run there, and the old ones go.
        var zoneB = subnets["zone-b"].SubnetId;
        var moved = await UpdateAsync(new UpdateServiceRequest { Service = "api", NetworkConfiguration = InSubnets(zoneB) });
        Assert.Equal(2, moved.Deployments.Count);
        await TaskTimeouts.WaitUntilAsync(
            async () => await TasksAsync("api") is { Count: 6 } now && now.TrueForAll(t => t.ContainerInstanceArn == b.Agent.Registration.ContainerInstanceArn),
            TimeSpan.FromSeconds(60),
            "the service's six tasks in zone-b");
    }

    [Fact]
    public async Task Restart_KeepsTheSubnetsOfServicesAndTasks()
    {
        var agent = await SimulatedAgent.RegisterAsync(Host, facts: SimulatedAgent.DefaultFacts("zone-b"));
        await RegisterAsync(Awsvpc);
        var zoneB = (await SubnetsByZoneAsync())["zone-b"].SubnetId;
        await CreateAsync(new CreateServiceRequest { ServiceName = "api", TaskDefinition = "api", DesiredCount = 0, NetworkConfiguration = InSubnets(zoneB) });
        var task = Assert.Single((await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "api", NetworkConfiguration = InSubnets(zoneB) }, Host.Admin)).Tasks);
        await agent.DisposeAsync();

        await RestartAsync();

        Assert.Equal([zoneB], (await DescribeAsync("api")).NetworkConfiguration.AwsvpcConfiguration.Subnets);
        Assert.Equal([zoneB], Assert.Single(await DescribeTasksAsync([task.TaskId])).NetworkConfiguration.AwsvpcConfiguration.Subnets);
        Assert.Equal(zoneB, (await SubnetsByZoneAsync())["zone-b"].SubnetId);
    }

    [Fact]
    public async Task Refusals_UnknownTooManyAndDuplicateSubnets_AndSubnetsForANonAwsvpcTask_InEcsWords()
    {
        await StartAgentAsync("zone-a");
        await RegisterAsync(Awsvpc);
        await RegisterAsync(TaskDefinitionSamples.Web(family: "bridge"));
        var zoneA = (await SubnetsByZoneAsync())["zone-a"].SubnetId;

        async Task<RpcException> RunRefused(string definition, params string[] subnets) =>
            await RefusedAsync(() => Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = definition, NetworkConfiguration = InSubnets(subnets) }, Host.Admin).ResponseAsync);

        var unknown = await RunRefused("api", zoneA, "subnet-xyz");
        Assert.Equal(StatusCode.InvalidArgument, unknown.StatusCode);
        Assert.Equal("InvalidParameterException: Error retrieving subnet information for [subnet-xyz]: The subnet ID 'subnet-xyz' does not exist (ErrorCode: InvalidSubnetID.NotFound)", unknown.Status.Detail);
        var tooMany = await RunRefused("api", [.. Enumerable.Range(0, 17).Select(i => $"subnet-{i}")]);
        Assert.Equal("InvalidParameterException: awsvpcConfiguration.subnets: at most 16 subnets can be specified (17 given).", tooMany.Status.Detail);
        var twice = await RunRefused("api", zoneA, zoneA);
        Assert.Equal($"InvalidParameterException: awsvpcConfiguration.subnets: subnet '{zoneA}' is specified more than once.", twice.Status.Detail);
        var bridge = await RunRefused("bridge", zoneA);
        Assert.Equal("InvalidParameterException: Network Configuration is not valid for the given networkMode of this task definition.", bridge.Status.Detail);
        Assert.Empty((await Host.Tasks.ListTasksAsync(new ListTasksRequest(), Host.Admin)).TaskArns);

        var service = await RefusedAsync(() => CreateAsync(new CreateServiceRequest { ServiceName = "s", TaskDefinition = "api", NetworkConfiguration = InSubnets("subnet-xyz") }));
        Assert.Equal(unknown.Status.Detail, service.Status.Detail);
        await CreateAsync(new CreateServiceRequest { ServiceName = "s", TaskDefinition = "api", DesiredCount = 0, NetworkConfiguration = InSubnets(zoneA) });
        var update = await RefusedAsync(() => UpdateAsync(new UpdateServiceRequest { Service = "s", NetworkConfiguration = InSubnets(zoneA, zoneA) }));
        Assert.Equal(twice.Status.Detail, update.Status.Detail);
        // Kept subnets must fit a new task definition too.
        var toBridge = await RefusedAsync(() => UpdateAsync(new UpdateServiceRequest { Service = "s", TaskDefinition = "bridge" }));
        Assert.Equal(bridge.Status.Detail, toBridge.Status.Detail);
        Assert.Equal([zoneA], (await DescribeAsync("s")).NetworkConfiguration.AwsvpcConfiguration.Subnets);
    }
}
