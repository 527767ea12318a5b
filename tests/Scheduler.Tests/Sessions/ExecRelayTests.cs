using Berth.Scheduler.Exec;
using Berth.Scheduler.Tests.Infrastructure;
using Berth.Scheduler.V1;
using Berth.TestSupport;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Berth.Scheduler.Tests.Sessions;

/// <summary>
/// <c>Tasks.ExecuteCommand</c> against simulated agents over real gRPC: the refusals (exec not enabled at launch, not
/// running, no such task or container, a malformed start, the wrong credential) reach no agent; an allowed session is
/// relayed to the task's agent only, frames both ways unchanged, and recorded on the task's service with the caller,
/// container, command and exit code; a caller that leaves sends the agent a cancel; an agent that leaves ends the call.
/// </summary>
public sealed class ExecRelayTests(ITestOutputHelper output) : SchedulerTest(output)
{
    [Fact]
    public async Task ATaskRunWithoutExec_IsRefusedInEcsWords_AndNoAgentIsAsked()
    {
        await using var agent = await SimulatedAgent.RegisterAsync(Host);
        var task = await RunOneAsync(enableExec: false);
        await agent.WaitForDesiredAsync(d => d.Tasks.Any(t => t.TaskId == task.TaskId), "the task");
        await agent.ReportAndWaitAsync(task.TaskId, LifecycleStatus.Running);
        Assert.False(task.EnableExecuteCommand);

        var e = await ExecErrorAsync(Start(task.TaskId, "sh"));

        Assert.Equal(StatusCode.FailedPrecondition, e.StatusCode);
        Assert.StartsWith("The execute command failed because execute command was not enabled when the task was run", e.Status.Detail, StringComparison.Ordinal);
        Assert.False(agent.ExecFrames.Reader.TryRead(out _), "the agent was asked");
    }

    [Fact]
    public async Task MalformedOrImpossibleRequests_AreRefusedWithTheFieldOrStateNamed()
    {
        await using var agent = await SimulatedAgent.RegisterAsync(Host);
        var task = await RunOneAsync(enableExec: true);

        // Still PENDING: exec needs a running task.
        var pending = await ExecErrorAsync(Start(task.TaskId, "sh"));
        Assert.Equal(StatusCode.FailedPrecondition, pending.StatusCode);
        Assert.Contains("is not running (last status PENDING", pending.Status.Detail, StringComparison.Ordinal);

        await agent.WaitForDesiredAsync(d => d.Tasks.Any(t => t.TaskId == task.TaskId), "the task");
        await agent.ReportAndWaitAsync(task.TaskId, LifecycleStatus.Running);
        Assert.Equal(StatusCode.NotFound, (await ExecErrorAsync(Start("0123456789abcdef0123456789abcdef", "sh"))).StatusCode);
        var container = await ExecErrorAsync(StartIn(task.TaskId, "nope", "sh"));
        Assert.Equal(StatusCode.NotFound, container.StatusCode);
        Assert.Contains("no container 'nope' (it has web)", container.Status.Detail, StringComparison.Ordinal);
        var noCommand = await ExecErrorAsync(new ExecStart { Task = task.TaskId });
        Assert.Equal(StatusCode.InvalidArgument, noCommand.StatusCode);
        Assert.Contains("start.command", noCommand.Status.Detail, StringComparison.Ordinal);
        var env = Start(task.TaskId, "sh");
        env.Env.Add("NOEQUALS");
        Assert.Contains("start.env[0]", (await ExecErrorAsync(env)).Status.Detail, StringComparison.Ordinal);

        // The first frame must be the start.
        using (var call = Host.Tasks.ExecuteCommand(SchedulerHost.Bearer(Host.AdminToken)))
        {
            await call.RequestStream.WriteAsync(new ExecClientFrame { Stdin = ByteString.CopyFromUtf8("x") }).WithTimeout();
            var notStart = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None).WithTimeout());
            Assert.Equal(StatusCode.InvalidArgument, notStart.StatusCode);
        }

        Assert.False(agent.ExecFrames.Reader.TryRead(out _), "the agent was asked");
    }

    [Fact]
    public async Task OnlyTheApiToken_MayExec()
    {
        await using var agent = await SimulatedAgent.RegisterAsync(Host);
        var task = await RunOneAsync(enableExec: true);
        await agent.WaitForDesiredAsync(d => d.Tasks.Any(t => t.TaskId == task.TaskId), "the task");
        await agent.ReportAndWaitAsync(task.TaskId, LifecycleStatus.Running);

        // An agent's instance credential is a known credential of the wrong kind; a made-up one is no credential.
        var asAgent = await ExecErrorAsync(Start(task.TaskId, "sh"), SchedulerHost.Bearer(agent.Registration.InstanceCredential));
        Assert.Equal(StatusCode.PermissionDenied, asAgent.StatusCode);
        var unknown = await ExecErrorAsync(Start(task.TaskId, "sh"), SchedulerHost.Bearer("berth_admin_forged"));
        Assert.Equal(StatusCode.Unauthenticated, unknown.StatusCode);
        Assert.False(agent.ExecFrames.Reader.TryRead(out _), "the agent was asked");
    }

    [Fact]
    public async Task AServiceTasksSession_IsRelayedUnchangedToItsAgentOnly_AndRecordedAsAServiceEvent()
    {
        await using var first = await SimulatedAgent.RegisterAsync(Host);
        await using var second = await SimulatedAgent.RegisterAsync(Host);
        await Host.TaskDefinitions.RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest { TaskDefinitionJson = TaskDefinitionSamples.Web("exec") }, Host.Admin);
        var service = (await Host.ServicesApi.CreateServiceAsync(new CreateServiceRequest { ServiceName = "shell", TaskDefinition = "exec", DesiredCount = 1, EnableExecuteCommand = true }, Host.Admin)).Service;
        Assert.True(service.EnableExecuteCommand);
        string taskId = "";
        await TaskTimeouts.WaitUntilAsync(async () =>
        {
            var list = await Host.Tasks.ListTasksAsync(new ListTasksRequest { ServiceName = "shell" }, Host.Admin);
            taskId = list.TaskArns.Count == 1 ? list.TaskArns[0] : "";
            return taskId.Length > 0;
        }, TimeSpan.FromSeconds(30), "the service's task");
        var task = (await Host.Tasks.DescribeTasksAsync(new DescribeTasksRequest { Tasks = { taskId } }, Host.Admin)).Tasks.Single();
        Assert.True(task.EnableExecuteCommand);
        var (owner, other) = task.ContainerInstanceId == first.InstanceId ? (first, second) : (second, first);
        var desired = await owner.WaitForDesiredAsync(d => d.Tasks.Count == 1, "the task");
        Assert.True(desired.Tasks.Single().EnableExecuteCommand);
        await owner.ReportAndWaitAsync(task.TaskId, LifecycleStatus.Running);

        using var call = Host.Tasks.ExecuteCommand(SchedulerHost.Bearer(Host.AdminToken));
        var start = Start(task.TaskArn, "sh", "-c", "echo it's here");
        start.Stdin = true;
        await call.RequestStream.WriteAsync(new ExecClientFrame { Start = start }).WithTimeout();
        var opened = await owner.ExecFrames.Reader.ReadAsync().AsTask().WithTimeout();
        Assert.Equal(start, opened.Frame.Start);

        // Caller -> agent: stdin, a resize and the end of input, in order, unchanged.
        await call.RequestStream.WriteAsync(new ExecClientFrame { Stdin = ByteString.CopyFromUtf8("input") }).WithTimeout();
        await call.RequestStream.WriteAsync(new ExecClientFrame { Resize = new TerminalSize { Rows = 40, Columns = 120 } }).WithTimeout();
        await call.RequestStream.CompleteAsync().WithTimeout();
        var stdin = await owner.ExecFrames.Reader.ReadAsync().AsTask().WithTimeout();
        var resize = await owner.ExecFrames.Reader.ReadAsync().AsTask().WithTimeout();
        var closed = await owner.ExecFrames.Reader.ReadAsync().AsTask().WithTimeout();
        Assert.Equal([opened.SessionId], new[] { stdin.SessionId, resize.SessionId, closed.SessionId }.Distinct());
        Assert.Equal("input", stdin.Frame.Stdin.ToStringUtf8());
        Assert.Equal((40u, 120u), (resize.Frame.Resize.Rows, resize.Frame.Resize.Columns));
        Assert.True(closed.Frame.StdinClosed, "a half-close ends the command's input");

        // Agent -> caller: a forged frame from another instance's session is dropped; the owner's arrive in order.
        await other.SendAsync(FromAgent(opened.SessionId, new ExecServerFrame { Stdout = ByteString.CopyFromUtf8("forged") }));
        await owner.SendAsync(FromAgent(opened.SessionId, new ExecServerFrame { Started = new ExecStarted { ExecId = "e1", TaskId = task.TaskId, Container = "web" } }));
        await owner.SendAsync(FromAgent(opened.SessionId, new ExecServerFrame { Stdout = ByteString.CopyFromUtf8("out") }));
        await owner.SendAsync(FromAgent(opened.SessionId, new ExecServerFrame { Stderr = ByteString.CopyFromUtf8("err") }));
        await owner.SendAsync(FromAgent(opened.SessionId, new ExecServerFrame { Exited = new ExecExited { ExitCode = 42 } }));
        var frames = await call.ResponseStream.ReadAllAsync().ToListAsync().AsTask().WithTimeout();
        Assert.Equal(
            ["started e1", "stdout out", "stderr err", "exited 42"],
            frames.Select(f => f.BodyCase switch
            {
                ExecServerFrame.BodyOneofCase.Started => "started " + f.Started.ExecId,
                ExecServerFrame.BodyOneofCase.Stdout => "stdout " + f.Stdout.ToStringUtf8(),
                ExecServerFrame.BodyOneofCase.Stderr => "stderr " + f.Stderr.ToStringUtf8(),
                ExecServerFrame.BodyOneofCase.Exited => "exited " + f.Exited.ExitCode,
                _ => f.BodyCase.ToString(),
            }));
        Assert.False(other.ExecFrames.Reader.TryRead(out _), "the other instance's agent was asked");

        // Recorded: who, task, container, command and exit code, as a service event.
        ServiceEvent? recorded = null;
        await TaskTimeouts.WaitUntilAsync(async () =>
        {
            var described = (await Host.ServicesApi.DescribeServicesAsync(new DescribeServicesRequest { Services = { "shell" } }, Host.Admin)).Services.Single();
            recorded = described.Events.FirstOrDefault(e => e.Message.Contains("exec by", StringComparison.Ordinal));
            return recorded is not null;
        }, TimeSpan.FromSeconds(10), "the exec event");
        Assert.Equal(
            $"(service shell) (task {task.TaskId}) exec by the API token from 127.0.0.1 in container web: sh -c 'echo it'\\''s here' ended with exit code 42.",
            recorded!.Message);
        Assert.Equal(0, Host.Services.GetRequiredService<Scheduler.Sessions.ExecRelay>().OpenSessions);
    }

    [Fact]
    public async Task TheFlagIsKeptByTheStore_AndUpdateServiceChangesItForNewTasksOnly()
    {
        await using (var agent = await SimulatedAgent.RegisterAsync(Host))
        {
            await Host.TaskDefinitions.RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest { TaskDefinitionJson = TaskDefinitionSamples.Web("exec") }, Host.Admin);
            await Host.ServicesApi.CreateServiceAsync(new CreateServiceRequest { ServiceName = "svc", TaskDefinition = "exec", DesiredCount = 0 }, Host.Admin);
            var updated = (await Host.ServicesApi.UpdateServiceAsync(new UpdateServiceRequest { Service = "svc", EnableExecuteCommand = true }, Host.Admin)).Service;
            Assert.True(updated.EnableExecuteCommand);
            // Left out of an update, it keeps its value.
            Assert.True((await Host.ServicesApi.UpdateServiceAsync(new UpdateServiceRequest { Service = "svc", DesiredCount = 0 }, Host.Admin)).Service.EnableExecuteCommand);
            await RunOneAsync(enableExec: true);
        }

        await RestartAsync();

        var service = (await Host.ServicesApi.DescribeServicesAsync(new DescribeServicesRequest { Services = { "svc" } }, Host.Admin)).Services.Single();
        Assert.True(service.EnableExecuteCommand);
        var arns = (await Host.Tasks.ListTasksAsync(new ListTasksRequest(), Host.Admin)).TaskArns;
        var task = (await Host.Tasks.DescribeTasksAsync(new DescribeTasksRequest { Tasks = { arns } }, Host.Admin)).Tasks.Single();
        Assert.True(task.EnableExecuteCommand, "the task's flag did not survive the restart");
    }

    [Fact]
    public async Task ACallerLeaving_CancelsTheAgentsSession_AndAnAgentLeaving_IsUnavailable()
    {
        var agent = await SimulatedAgent.RegisterAsync(Host);
        var task = await RunOneAsync(enableExec: true);
        await agent.WaitForDesiredAsync(d => d.Tasks.Any(t => t.TaskId == task.TaskId), "the task");
        await agent.ReportAndWaitAsync(task.TaskId, LifecycleStatus.Running);

        using (var cancel = new CancellationTokenSource())
        {
            using var call = Host.Tasks.ExecuteCommand(SchedulerHost.Bearer(Host.AdminToken), cancellationToken: cancel.Token);
            await call.RequestStream.WriteAsync(new ExecClientFrame { Start = Start(task.TaskId, "sleep", "100") }).WithTimeout();
            var opened = await agent.ExecFrames.Reader.ReadAsync().AsTask().WithTimeout();
            await cancel.CancelAsync();
            var cancelled = await agent.ExecFrames.Reader.ReadAsync().AsTask().WithTimeout();
            Assert.Equal((opened.SessionId, true), (cancelled.SessionId, cancelled.Cancel));
        }

        using var second = Host.Tasks.ExecuteCommand(SchedulerHost.Bearer(Host.AdminToken));
        await second.RequestStream.WriteAsync(new ExecClientFrame { Start = Start(task.TaskId, "sleep", "100") }).WithTimeout();
        await agent.ExecFrames.Reader.ReadAsync().AsTask().WithTimeout();
        await agent.DisposeAsync();
        var gone = await Assert.ThrowsAsync<RpcException>(() => second.ResponseStream.MoveNext(CancellationToken.None).WithTimeout());
        Assert.Equal(StatusCode.Unavailable, gone.StatusCode);

        var notConnected = await ExecErrorAsync(Start(task.TaskId, "sh"));
        Assert.Equal(StatusCode.Unavailable, notConnected.StatusCode);
        await TaskTimeouts.WaitUntilAsync(() => Task.FromResult(Host.Services.GetRequiredService<Scheduler.Sessions.ExecRelay>().OpenSessions == 0), TimeSpan.FromSeconds(10), "the sessions to close");
    }

    [Fact]
    public void Quote_ReadsBackAsTheShellWould_AndIsCut()
    {
        Assert.Equal("sh -c 'ls | wc -l'", ExecHandler.Quote(["sh", "-c", "ls | wc -l"], 100));
        Assert.Equal("echo '' 'a'\\''b'", ExecHandler.Quote(["echo", "", "a'b"], 100));
        var cut = ExecHandler.Quote(["echo", new string('x', 500)], ExecHandler.MaxRecordedCommand);
        Assert.Equal(ExecHandler.MaxRecordedCommand, cut.Length);
        Assert.EndsWith("...", cut, StringComparison.Ordinal);
    }

    private async Task<TaskInfo> RunOneAsync(bool enableExec)
    {
        await Host.TaskDefinitions.RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest { TaskDefinitionJson = TaskDefinitionSamples.Web("exec") }, Host.Admin);
        return (await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "exec", EnableExecuteCommand = enableExec }, Host.Admin)).Tasks.Single();
    }

    private static ExecStart Start(string task, params string[] command)
    {
        var start = new ExecStart { Task = task };
        start.Command.AddRange(command);
        return start;
    }

    private static ExecStart StartIn(string task, string container, string command)
    {
        var start = Start(task, command);
        start.Container = container;
        return start;
    }

    private static AgentMessage FromAgent(string sessionId, ExecServerFrame frame) => new() { Exec = new ExecFromAgent { SessionId = sessionId, Frame = frame } };

    /// <summary>Starts an exec and returns the status the call ends with (it must fail).</summary>
    private async Task<RpcException> ExecErrorAsync(ExecStart start, Metadata? headers = null)
    {
        using var call = Host.Tasks.ExecuteCommand(headers ?? SchedulerHost.Bearer(Host.AdminToken));
        try
        {
            await call.RequestStream.WriteAsync(new ExecClientFrame { Start = start }).WithTimeout();
        }
        catch (RpcException written)
        {
            // The server may refuse before it reads the first frame (authentication). It answers and resets the
            // stream, and the write can lose that race: it then fails as Cancelled while the answer is on its way.
            // What the server said is the response's status, so read that.
            try
            {
                await call.ResponseStream.MoveNext(CancellationToken.None).WithTimeout();
            }
            catch (RpcException answered)
            {
                return answered;
            }

            return written;
        }

        return await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None).WithTimeout());
    }
}
