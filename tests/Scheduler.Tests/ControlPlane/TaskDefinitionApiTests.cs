using System.Text.Json;
using Berth.Scheduler.Tests.Infrastructure;
using Berth.Scheduler.V1;
using Grpc.Core;
using Xunit.Abstractions;

namespace Berth.Scheduler.Tests.ControlPlane;

public sealed class TaskDefinitionApiTests(ITestOutputHelper output) : SchedulerTest(output)
{
    private Task<RegisterTaskDefinitionResponse> RegisterAsync(string json) =>
        Host.TaskDefinitions.RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest { TaskDefinitionJson = json }, Host.Admin).ResponseAsync;

    [Fact]
    public async Task Register_TwiceInAFamily_NumbersRevisions()
    {
        var first = await RegisterAsync(TaskDefinitionSamples.Web());
        var second = await RegisterAsync(TaskDefinitionSamples.Web(memory: 1024));

        Assert.Equal(1, first.TaskDefinition.Revision);
        Assert.Equal(2, second.TaskDefinition.Revision);
        Assert.Equal("arn:berth:ecs:local:task-definition/web:2", second.TaskDefinition.Arn);
        Assert.Equal(1024, second.TaskDefinition.Memory);
        Assert.Equal(256, second.TaskDefinition.Cpu);
    }

    [Fact]
    public async Task Describe_ReturnsEcsJsonWithUnknownFieldsKept()
    {
        await RegisterAsync(TaskDefinitionSamples.Web());

        var described = await Host.TaskDefinitions.DescribeTaskDefinitionAsync(new DescribeTaskDefinitionRequest { TaskDefinition = "web:1" }, Host.Admin);
        using var json = JsonDocument.Parse(described.TaskDefinition.TaskDefinitionJson);
        var root = json.RootElement;

        Assert.Equal("web", root.GetProperty("family").GetString());
        Assert.Equal(1, root.GetProperty("revision").GetInt32());
        Assert.Equal("ACTIVE", root.GetProperty("status").GetString());
        Assert.Equal("arn:aws:iam::123456789012:role/ecsTaskExecutionRole", root.GetProperty("executionRoleArn").GetString());
        Assert.Equal(2048, root.GetProperty("containerDefinitions")[0].GetProperty("ulimits")[0].GetProperty("hardLimit").GetInt32());
    }

    [Theory]
    [InlineData("web")]
    [InlineData("web:2")]
    [InlineData("arn:berth:ecs:local:task-definition/web:2")]
    public async Task Describe_ByFamilyRevisionOrArn(string reference)
    {
        await RegisterAsync(TaskDefinitionSamples.Web());
        await RegisterAsync(TaskDefinitionSamples.Web());

        var described = await Host.TaskDefinitions.DescribeTaskDefinitionAsync(new DescribeTaskDefinitionRequest { TaskDefinition = reference }, Host.Admin);

        Assert.Equal(2, described.TaskDefinition.Revision);
    }

    [Fact]
    public async Task Register_Invalid_NamesTheField()
    {
        var json = TaskDefinitionSamples.Web().Replace("\"containerPort\": 80", "\"containerPort\": 70000", StringComparison.Ordinal);

        var e = await Assert.ThrowsAsync<RpcException>(() => RegisterAsync(json));

        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains("containerDefinitions[0].portMappings[0].containerPort: must be 1-65535", e.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Register_UnparsableMemberOfAndDependsOnCycle_AreRejectedAtRegistration_AndNothingIsStored()
    {
        const string json = """
            {"family":"loop","placementConstraints":[{"type":"memberOf","expression":"attribute:berth.zone in [a, b"}],
             "containerDefinitions":[
               {"name":"app","image":"app:1","memory":64,"dependsOn":[{"containerName":"sidecar","condition":"START"}]},
               {"name":"sidecar","image":"side:1","memory":16,"dependsOn":[{"containerName":"app","condition":"HEALTHY"}]}]}
            """;

        var e = await Assert.ThrowsAsync<RpcException>(() => RegisterAsync(json));

        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains("placementConstraints[0].expression: is not a valid cluster query", e.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("containerDefinitions[0].dependsOn: forms a cycle (app -> sidecar -> app)", e.Status.Detail, StringComparison.Ordinal);
        var families = await Host.TaskDefinitions.ListTaskDefinitionFamiliesAsync(new ListTaskDefinitionFamiliesRequest(), Host.Admin);
        Assert.DoesNotContain("loop", families.Families);
    }

    [Fact]
    public async Task Register_BadVolumeAndLogDriver_NameTheFields()
    {
        const string json = """
            {"family":"storage","volumes":[{"name":"data","dockerVolumeConfiguration":{"scope":"cluster"}}],
             "containerDefinitions":[{"name":"app","image":"app:1","memory":64,"mountPoints":[{"sourceVolume":"logs","containerPath":"/logs"}],
               "logConfiguration":{"logDriver":"json-file","options":{"max-sise":"1m"}}}]}
            """;

        var e = await Assert.ThrowsAsync<RpcException>(() => RegisterAsync(json));

        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains("volumes[0].dockerVolumeConfiguration.scope: must be task or shared", e.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("containerDefinitions[0].mountPoints[0].sourceVolume: must name a volume of the task", e.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("containerDefinitions[0].logConfiguration.options.max-sise", e.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Register_MalformedJson_IsInvalidArgument()
    {
        var e = await Assert.ThrowsAsync<RpcException>(() => RegisterAsync("{\"family\": "));

        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
    }

    [Fact]
    public async Task Deregister_MakesRevisionInactive_AndFamilyResolvesToLatestActive()
    {
        await RegisterAsync(TaskDefinitionSamples.Web());
        await RegisterAsync(TaskDefinitionSamples.Web());

        var deregistered = await Host.TaskDefinitions.DeregisterTaskDefinitionAsync(new DeregisterTaskDefinitionRequest { TaskDefinition = "web:2" }, Host.Admin);
        var latest = await Host.TaskDefinitions.DescribeTaskDefinitionAsync(new DescribeTaskDefinitionRequest { TaskDefinition = "web" }, Host.Admin);
        var active = await Host.TaskDefinitions.ListTaskDefinitionsAsync(new ListTaskDefinitionsRequest(), Host.Admin);
        var inactive = await Host.TaskDefinitions.ListTaskDefinitionsAsync(new ListTaskDefinitionsRequest { Status = "INACTIVE" }, Host.Admin);

        Assert.Equal("INACTIVE", deregistered.TaskDefinition.Status);
        Assert.NotNull(deregistered.TaskDefinition.DeregisteredAt);
        Assert.Equal(1, latest.TaskDefinition.Revision);
        Assert.Equal(["arn:berth:ecs:local:task-definition/web:1"], active.TaskDefinitionArns);
        Assert.Equal(["arn:berth:ecs:local:task-definition/web:2"], inactive.TaskDefinitionArns);
    }

    [Fact]
    public async Task Deregister_WithoutRevision_IsInvalidArgument()
    {
        await RegisterAsync(TaskDefinitionSamples.Web());

        var e = await Assert.ThrowsAsync<RpcException>(() => Host.TaskDefinitions.DeregisterTaskDefinitionAsync(new DeregisterTaskDefinitionRequest { TaskDefinition = "web" }, Host.Admin).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
    }

    [Fact]
    public async Task Describe_Unknown_IsNotFound()
    {
        var e = await Assert.ThrowsAsync<RpcException>(() => Host.TaskDefinitions.DescribeTaskDefinitionAsync(new DescribeTaskDefinitionRequest { TaskDefinition = "ghost:1" }, Host.Admin).ResponseAsync);

        Assert.Equal(StatusCode.NotFound, e.StatusCode);
    }

    [Fact]
    public async Task ListFamilies_FiltersByPrefix_AndListDescending()
    {
        await RegisterAsync(TaskDefinitionSamples.Web("api"));
        await RegisterAsync(TaskDefinitionSamples.Web("api"));
        await RegisterAsync(TaskDefinitionSamples.Web("worker"));

        var families = await Host.TaskDefinitions.ListTaskDefinitionFamiliesAsync(new ListTaskDefinitionFamiliesRequest { FamilyPrefix = "a" }, Host.Admin);
        var descending = await Host.TaskDefinitions.ListTaskDefinitionsAsync(new ListTaskDefinitionsRequest { FamilyPrefix = "api", Descending = true }, Host.Admin);

        Assert.Equal(["api"], families.Families);
        Assert.Equal(["arn:berth:ecs:local:task-definition/api:2", "arn:berth:ecs:local:task-definition/api:1"], descending.TaskDefinitionArns);
    }

    [Fact]
    public async Task RunTask_OnInactiveRevision_IsInvalidArgument()
    {
        await using var agent = await SimulatedAgent.RegisterAsync(Host);
        await RegisterAsync(TaskDefinitionSamples.Web());
        await Host.TaskDefinitions.DeregisterTaskDefinitionAsync(new DeregisterTaskDefinitionRequest { TaskDefinition = "web:1" }, Host.Admin);

        var e = await Assert.ThrowsAsync<RpcException>(() => Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web:1" }, Host.Admin).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
    }
}
