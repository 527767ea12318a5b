using System.Collections.Concurrent;
using Berth.Agent.Tasks;
using Berth.Agent.Tests.Tasks;
using Berth.Scheduler.V1;
using Berth.TestSupport;
using Google.Protobuf;
using Xunit.Abstractions;

namespace Berth.Agent.Tests.Exec;

/// <summary>
/// The agent's side of exec against a real container: the frames the scheduler would relay go into
/// <see cref="Berth.Agent.Exec.ExecSessions"/> exactly as the session delivers them, and the frames it sends back are
/// checked: output per stream, input, exit codes, a TTY with its initial size and a resize, and the refusals.
/// </summary>
[Collection(EngineCollection.Name)]
[Trait("Category", "System")]
public sealed class ExecSystemTests(EngineFixture engine, ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan s_step = TimeSpan.FromSeconds(30);
    private readonly string _scope = "test-" + Guid.NewGuid().ToString("N")[..10];
    private readonly DirectoryInfo _state = Directory.CreateTempSubdirectory("berth-agent-state-");

    [Fact]
    public async Task WithoutATty_StdoutAndStderrStayApart_StdinArrives_AndTheExitCodeComesBack()
    {
        await using var agent = await StartAgentAsync();
        var task = await RunTaskAsync(agent, enableExec: true);
        using var session = new FrameSink();

        Start(agent, session, new ExecStart { Task = task.TaskArn, Command = { "sh", "-c", "read line; echo \"got $line\"; echo oops >&2; exit 42" }, Stdin = true });
        Send(agent, session, new ExecClientFrame { Stdin = ByteString.CopyFromUtf8("hello\n") });
        Send(agent, session, new ExecClientFrame { StdinClosed = true });
        var frames = await session.UntilEndAsync();

        Assert.Equal(task.TaskId, frames.First(f => f.BodyCase == ExecServerFrame.BodyOneofCase.Started).Started.TaskId);
        Assert.Equal("got hello\n", Text(frames, ExecServerFrame.BodyOneofCase.Stdout));
        Assert.Equal("oops\n", Text(frames, ExecServerFrame.BodyOneofCase.Stderr));
        Assert.Equal(42, frames[^1].Exited.ExitCode);
        Assert.Equal(0, agent.Exec.Open);
    }

    [Fact]
    public async Task WithATty_TheTerminalHasTheCallersSize_FollowsAResize_AndEchoesInput()
    {
        await using var agent = await StartAgentAsync();
        var task = await RunTaskAsync(agent, enableExec: true);
        using var session = new FrameSink();

        // An interactive shell: it prints the terminal size, then (after the resize) again, then exits with a code.
        Start(agent, session, new ExecStart
        {
            Task = task.TaskId,
            Container = "main",
            Command = { "sh" },
            Tty = true,
            Stdin = true,
            TerminalSize = new TerminalSize { Rows = 30, Columns = 100 },
        });
        Send(agent, session, new ExecClientFrame { Stdin = ByteString.CopyFromUtf8("busybox stty size\n") });
        await session.UntilOutputAsync("30 100");
        Send(agent, session, new ExecClientFrame { Resize = new TerminalSize { Rows = 45, Columns = 132 } });
        Send(agent, session, new ExecClientFrame { Stdin = ByteString.CopyFromUtf8("busybox stty size\n") });
        await session.UntilOutputAsync("45 132");
        Send(agent, session, new ExecClientFrame { Stdin = ByteString.CopyFromUtf8("exit 5\n") });
        var frames = await session.UntilEndAsync();

        output.WriteLine(Text(frames, ExecServerFrame.BodyOneofCase.Stdout));
        // One stream with a TTY: what was typed is echoed by the terminal, and nothing arrives as stderr.
        Assert.Contains("busybox stty size", Text(frames, ExecServerFrame.BodyOneofCase.Stdout), StringComparison.Ordinal);
        Assert.DoesNotContain(frames, f => f.BodyCase == ExecServerFrame.BodyOneofCase.Stderr);
        Assert.Equal(5, frames[^1].Exited.ExitCode);
    }

    [Fact]
    public async Task Refusals_NameWhatIsWrong()
    {
        await using var agent = await StartAgentAsync();
        var locked = await RunTaskAsync(agent, enableExec: false);
        var open = await RunTaskAsync(agent, enableExec: true);

        async Task<ExecError> RefusedAsync(ExecStart start)
        {
            using var session = new FrameSink();
            Start(agent, session, start);
            var frames = await session.UntilEndAsync();
            Assert.Equal(ExecServerFrame.BodyOneofCase.Error, Assert.Single(frames).BodyCase);
            output.WriteLine(frames[0].Error.Message);
            return frames[0].Error;
        }

        var disabled = await RefusedAsync(new ExecStart { Task = locked.TaskId, Command = { "true" } });
        Assert.Equal(ExecError.Types.Code.FailedPrecondition, disabled.Code);
        Assert.Contains("enableExecuteCommand", disabled.Message, StringComparison.Ordinal);
        Assert.Equal(ExecError.Types.Code.NotFound, (await RefusedAsync(new ExecStart { Task = "0123456789abcdef0123456789abcdef", Command = { "true" } })).Code);
        var noContainer = await RefusedAsync(new ExecStart { Task = open.TaskId, Container = "nope", Command = { "true" } });
        Assert.Equal(ExecError.Types.Code.NotFound, noContainer.Code);
        Assert.Contains("main", noContainer.Message, StringComparison.Ordinal);
        Assert.Equal(ExecError.Types.Code.InvalidArgument, (await RefusedAsync(new ExecStart { Task = open.TaskId })).Code);

        // A command that does not exist starts (the runtime reports it) and ends with the shell's "not found" code.
        using var session = new FrameSink();
        Start(agent, session, new ExecStart { Task = open.TaskId, Command = { "/no/such/binary" } });
        var frames = await session.UntilEndAsync();
        output.WriteLine(Text(frames, ExecServerFrame.BodyOneofCase.Stdout) + Text(frames, ExecServerFrame.BodyOneofCase.Stderr));
        Assert.True(frames[^1].BodyCase == ExecServerFrame.BodyOneofCase.Exited && frames[^1].Exited.ExitCode is 126 or 127, $"last frame: {frames[^1]}");
    }

    [Fact]
    public async Task Cancel_EndsTheSession_WithoutAnExitFrame()
    {
        await using var agent = await StartAgentAsync();
        var task = await RunTaskAsync(agent, enableExec: true);
        using var session = new FrameSink();
        Start(agent, session, new ExecStart { Task = task.TaskId, Command = { "sh" }, Tty = true, Stdin = true });
        await session.UntilAsync(f => f.BodyCase == ExecServerFrame.BodyOneofCase.Started);

        agent.Exec.Handle(new ExecToAgent { SessionId = session.Id, Cancel = true }, session.SendAsync, CancellationToken.None);

        await TaskTimeouts.WaitUntilAsync(() => Task.FromResult(agent.Exec.Open == 0), s_step, "the session to end");
        Assert.DoesNotContain(session.Frames, f => f.BodyCase is ExecServerFrame.BodyOneofCase.Exited or ExecServerFrame.BodyOneofCase.Error);
    }

    public void Dispose()
    {
        foreach (var c in engine.Runtime.ListContainersAsync(new Dictionary<string, string> { [ContainerLabels.Agent] = _scope }, CancellationToken.None).GetAwaiter().GetResult())
        {
            engine.Runtime.RemoveContainerAsync(c.Id, CancellationToken.None).GetAwaiter().GetResult();
        }

        _state.Delete(recursive: true);
    }

    private static void Start(AgentHarness agent, FrameSink session, ExecStart start) =>
        Send(agent, session, new ExecClientFrame { Start = start });

    private static void Send(AgentHarness agent, FrameSink session, ExecClientFrame frame) =>
        agent.Exec.Handle(new ExecToAgent { SessionId = session.Id, Frame = frame }, session.SendAsync, CancellationToken.None);

    private static string Text(IEnumerable<ExecServerFrame> frames, ExecServerFrame.BodyOneofCase stream) =>
        string.Concat(frames.Where(f => f.BodyCase == stream).Select(f => (stream == ExecServerFrame.BodyOneofCase.Stdout ? f.Stdout : f.Stderr).ToStringUtf8()));

    private async Task<AgentHarness> StartAgentAsync()
    {
        var agent = new AgentHarness(engine.Runtime, _scope, _state.FullName, output);
        await agent.StartAsync();
        return agent;
    }

    private async Task<TaskSpec> RunTaskAsync(AgentHarness agent, bool enableExec)
    {
        var task = new TaskSpec
        {
            TaskId = Guid.NewGuid().ToString("N"),
            TaskArn = "arn:berth:ecs:local:task/default/" + Guid.NewGuid().ToString("N"),
            Cluster = "default",
            TaskDefinition = "exec:1",
            EnableExecuteCommand = enableExec,
            Containers = [new ContainerSpec { Name = "main", Image = engine.Image, EntryPoint = ["sh", "-c"], Command = ["trap 'exit 0' TERM; sleep 300 & wait"], StopTimeout = TimeSpan.FromSeconds(2) }],
        };
        task = task with { TaskArn = "arn:berth:ecs:local:task/default/" + task.TaskId };
        var known = agent.Engine.Snapshot().Select(r => r.TaskId).ToList();
        agent.Engine.ApplyDesired(new DesiredTaskSet(DateTime.UtcNow.Ticks, [.. known.Select(id => agent.Engine.SpecOf(id)!), task]));
        await agent.WaitForAsync(task.TaskId, r => r.Status == LocalStatus.Running, s_step);
        return task;
    }

    /// <summary>What the scheduler's relay would receive: the agent's frames for one session, in order.</summary>
    private sealed class FrameSink : IDisposable
    {
        private readonly ConcurrentQueue<ExecServerFrame> _frames = new();
        private readonly SemaphoreSlim _arrived = new(0);

        public string Id { get; } = Guid.NewGuid().ToString("N");

        public IReadOnlyList<ExecServerFrame> Frames => [.. _frames];

        public Task SendAsync(ExecFromAgent message)
        {
            Assert.Equal(Id, message.SessionId);
            _frames.Enqueue(message.Frame);
            _arrived.Release();
            return Task.CompletedTask;
        }

        public Task<IReadOnlyList<ExecServerFrame>> UntilEndAsync() =>
            UntilAsync(f => f.BodyCase is ExecServerFrame.BodyOneofCase.Exited or ExecServerFrame.BodyOneofCase.Error);

        public Task<IReadOnlyList<ExecServerFrame>> UntilOutputAsync(string text) =>
            UntilAsync(_ => string.Concat(_frames.Where(f => f.BodyCase == ExecServerFrame.BodyOneofCase.Stdout).Select(f => f.Stdout.ToStringUtf8())).Contains(text, StringComparison.Ordinal));

        public async Task<IReadOnlyList<ExecServerFrame>> UntilAsync(Func<ExecServerFrame, bool> done)
        {
            using var cts = new CancellationTokenSource(s_step);
            while (!_frames.Any(done))
            {
                try
                {
                    await _arrived.WaitAsync(cts.Token);
                }
                catch (OperationCanceledException)
                {
                    throw new TimeoutException("frames so far: " + string.Join(" | ", _frames.Select(f => f.ToString())));
                }
            }

            return Frames;
        }

        public void Dispose() => _arrived.Dispose();
    }
}
