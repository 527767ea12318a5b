using Berth.Scheduler.Tests.Infrastructure;
using Berth.Scheduler.V1;
using Berth.TestSupport;
using Google.Protobuf;
using Grpc.Core;
using Xunit.Abstractions;

namespace Berth.Scheduler.Tests.Sessions;

/// <summary>
/// <c>GetTaskLogs</c> against simulated agents over real gRPC: only the task's instance is asked, only its session's
/// chunks reach the caller, a caller that leaves sends the agent a cancel, an agent that leaves ends the call.
/// </summary>
public sealed class LogRelayTests(ITestOutputHelper output) : SchedulerTest(output)
{
    [Fact]
    public async Task Follow_RelaysOnlyTheOwnersChunks_AndCancelReachesTheOwner()
    {
        await using var first = await SimulatedAgent.RegisterAsync(Host);
        await using var second = await SimulatedAgent.RegisterAsync(Host);
        var task = await RunOneAsync();
        var (owner, other) = task.ContainerInstanceId == first.InstanceId ? (first, second) : (second, first);
        await owner.WaitForDesiredAsync(d => d.Tasks.Count == 1, "the task");

        using var cancel = new CancellationTokenSource();
        using var call = Host.Tasks.GetTaskLogs(new GetTaskLogsRequest { Task = task.TaskId, Follow = true, Tail = 5 }, SchedulerHost.Bearer(Host.AdminToken), cancellationToken: cancel.Token);
        var request = await owner.LogRequests.Reader.ReadAsync().AsTask().WithTimeout();
        Assert.Equal((task.TaskId, "web", true, 5, false), (request.TaskId, request.ContainerName, request.Follow, request.Tail, request.Cancel));

        // A chunk for that stream from another instance's session is dropped; the owner's arrive in order.
        await other.SendAsync(Chunk(request.StreamId, "forged\n"));
        await owner.SendAsync(Chunk(request.StreamId, "one\n"));
        await owner.SendAsync(Chunk(request.StreamId, "two\n", "stderr"));
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None).WithTimeout());
        Assert.Equal(("one\n", "stdout"), (call.ResponseStream.Current.Data.ToStringUtf8(), call.ResponseStream.Current.Stream));
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None).WithTimeout());
        Assert.Equal(("two\n", "stderr"), (call.ResponseStream.Current.Data.ToStringUtf8(), call.ResponseStream.Current.Stream));

        await cancel.CancelAsync();
        var cancelled = await owner.LogRequests.Reader.ReadAsync().AsTask().WithTimeout();
        Assert.Equal((request.StreamId, true), (cancelled.StreamId, cancelled.Cancel));
        Assert.False(other.LogRequests.Reader.TryRead(out _), "the other instance's agent was asked");
    }

    [Fact]
    public async Task WithoutFollow_TheAgentsEndEndsTheCall()
    {
        await using var agent = await SimulatedAgent.RegisterAsync(Host);
        var task = await RunOneAsync();
        await agent.WaitForDesiredAsync(d => d.Tasks.Count == 1, "the task");

        using var call = Host.Tasks.GetTaskLogs(new GetTaskLogsRequest { Task = task.TaskArn, Container = "web" }, SchedulerHost.Bearer(Host.AdminToken));
        var request = await agent.LogRequests.Reader.ReadAsync().AsTask().WithTimeout();
        await agent.SendAsync(Chunk(request.StreamId, "only line\n"));
        await agent.SendAsync(new AgentMessage { LogChunk = new LogChunk { StreamId = request.StreamId, End = true } });

        var chunks = await call.ResponseStream.ReadAllAsync().Select(c => c.Data.ToStringUtf8()).ToListAsync().AsTask().WithTimeout();
        Assert.Equal(["only line\n"], chunks);
    }

    [Fact]
    public async Task AgentLeavingMidStream_IsUnavailable_AndNotConnectedIsUnavailable()
    {
        var agent = await SimulatedAgent.RegisterAsync(Host);
        var task = await RunOneAsync();
        await agent.WaitForDesiredAsync(d => d.Tasks.Count == 1, "the task");

        using var call = Host.Tasks.GetTaskLogs(new GetTaskLogsRequest { Task = task.TaskId, Follow = true }, SchedulerHost.Bearer(Host.AdminToken));
        await agent.LogRequests.Reader.ReadAsync().AsTask().WithTimeout();
        await agent.DisposeAsync();

        var e = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None).WithTimeout());
        Assert.Equal(StatusCode.Unavailable, e.StatusCode);

        using var again = Host.Tasks.GetTaskLogs(new GetTaskLogsRequest { Task = task.TaskId }, SchedulerHost.Bearer(Host.AdminToken));
        var notConnected = await Assert.ThrowsAsync<RpcException>(() => again.ResponseStream.MoveNext(CancellationToken.None).WithTimeout());
        Assert.Equal(StatusCode.Unavailable, notConnected.StatusCode);
    }

    private async Task<TaskInfo> RunOneAsync()
    {
        await Host.TaskDefinitions.RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest { TaskDefinitionJson = TaskDefinitionSamples.Web("logs") }, Host.Admin);
        return (await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "logs" }, Host.Admin)).Tasks.Single();
    }

    private static AgentMessage Chunk(string streamId, string text, string stream = "stdout") =>
        new() { LogChunk = new LogChunk { StreamId = streamId, Data = ByteString.CopyFromUtf8(text), Stream = stream } };
}
