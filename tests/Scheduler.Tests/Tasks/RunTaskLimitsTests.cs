using Berth.Scheduler.Tests.Infrastructure;
using Berth.Scheduler.V1;
using Grpc.Core;
using Xunit.Abstractions;

namespace Berth.Scheduler.Tests.Tasks;

/// <summary>RunTask's strings within ECS's limits (and free of control characters), errors naming the field; nothing is placed.</summary>
public sealed class RunTaskLimitsTests(ITestOutputHelper output) : SchedulerTest(output)
{
    public static TheoryData<string, string> BadRequests() => new()
    {
        { "group-5000", "group" },
        { "group-256", "group" },
        { "group-escape", "group" },
        { "started-by-129", "started_by" },
        { "client-token-65", "client_token" },
        { "task-definition-2000", "task_definition" },
        { "overrides-9000", "overrides" },
        { "strategy-field-300", "placement_strategy[0].field" },
        { "expression-2001", "placement_constraints" },
    };

    private static RunTaskRequest Request(string shape)
    {
        var request = new RunTaskRequest { TaskDefinition = "web" };
        switch (shape)
        {
            case "group-5000": request.Group = new string('g', 5000); break;
            case "group-256": request.Group = new string('g', 256); break;
            case "group-escape": request.Group = "batch\u001b[31m"; break;
            case "started-by-129": request.StartedBy = new string('s', 129); break;
            case "client-token-65": request.ClientToken = new string('t', 65); break;
            case "task-definition-2000": request.TaskDefinition = new string('f', 2000); break;
            case "overrides-9000":
                request.Overrides = new TaskOverride { ContainerOverrides = { new ContainerOverride { Name = "web", Command = { new string('c', 9000) }, CommandSet = true } } };
                break;
            case "strategy-field-300": request.PlacementStrategy.Add(new PlacementStrategy { Type = "spread", Field = new string('f', 300) }); break;
            case "expression-2001": request.PlacementConstraints.Add(new PlacementConstraint { Type = "memberOf", Expression = "attribute:a == " + new string('x', 1990) }); break;
            default: throw new ArgumentOutOfRangeException(nameof(shape));
        }

        return request;
    }

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task RunTask_OversizedOrControlCharacters_IsInvalidArgumentNamingTheField(string shape, string field)
    {
        await using var agent = await SimulatedAgent.RegisterAsync(Host);
        await Host.TaskDefinitions.RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest { TaskDefinitionJson = TaskDefinitionSamples.Web() }, Host.Admin);

        var e = await Assert.ThrowsAsync<RpcException>(() => Host.Tasks.RunTaskAsync(Request(shape), Host.Admin).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.StartsWith(field, e.Status.Detail, StringComparison.Ordinal);
        Assert.Empty((await Host.Tasks.ListTasksAsync(new ListTasksRequest(), Host.Admin)).TaskArns);
    }

    [Fact]
    public async Task RunTask_GroupOf255_IsAccepted()
    {
        await using var agent = await SimulatedAgent.RegisterAsync(Host);
        await Host.TaskDefinitions.RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest { TaskDefinitionJson = TaskDefinitionSamples.Web() }, Host.Admin);

        var run = await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web", Group = new string('g', 255) }, Host.Admin);

        Assert.Equal(new string('g', 255), Assert.Single(run.Tasks).Group);
    }
}
