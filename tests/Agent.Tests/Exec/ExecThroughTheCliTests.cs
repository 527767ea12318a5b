using System.Collections.Concurrent;
using Berth.Agent.Exec;
using Berth.Agent.Tasks;
using Berth.Agent.Tests.Tasks;
using Berth.Scheduler.V1;
using Berth.TestSupport;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Berth.Agent.Tests.Exec;

/// <summary>
/// <c>berth task exec</c> as a user runs it: the real CLI process, over real gRPC, to a relay that does what the
/// scheduler's side will do (frames forwarded unchanged to the agent's <see cref="ExecSessions"/> and back), into a real
/// container. Without a terminal (a script: stdin piped, stdout and stderr apart, the exit code passed through) and
/// with one (the CLI under <c>script</c>, which gives it a pseudo-terminal: raw mode, the terminal's size sent first).
/// </summary>
[Collection(EngineCollection.Name)]
[Trait("Category", "System")]
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "xunit disposes the fields in IAsyncLifetime.DisposeAsync.")]
public sealed class ExecThroughTheCliTests(EngineFixture engine, ITestOutputHelper output) : IAsyncLifetime
{
    private readonly string _scope = "test-" + Guid.NewGuid().ToString("N")[..10];
    private readonly DirectoryInfo _state = Directory.CreateTempSubdirectory("berth-agent-state-");
    private AgentHarness _agent = null!;
    private WebApplication _relay = null!;
    private string _endpoint = null!;
    private TaskSpec _task = null!;

    public async Task InitializeAsync()
    {
        _agent = new AgentHarness(engine.Runtime, _scope, _state.FullName, output);
        await _agent.StartAsync();
        _task = new TaskSpec
        {
            TaskId = Guid.NewGuid().ToString("N"),
            Cluster = "default",
            TaskDefinition = "exec:1",
            EnableExecuteCommand = true,
            Containers = [new ContainerSpec { Name = "main", Image = engine.Image, EntryPoint = ["sh", "-c"], Command = ["trap 'exit 0' TERM; sleep 300 & wait"], StopTimeout = TimeSpan.FromSeconds(2) }],
        };
        _agent.Engine.ApplyDesired(new DesiredTaskSet(1, [_task]));
        await _agent.WaitForAsync(_task.TaskId, r => r.Status == LocalStatus.Running);

        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0, o => o.Protocols = HttpProtocols.Http2));
        builder.Logging.ClearProviders();
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(_agent.Exec);
        _relay = builder.Build();
        _relay.MapGrpcService<ExecRelay>();
        await _relay.StartAsync();
        _endpoint = _relay.Urls.First();
    }

    [Fact]
    public async Task InAScript_StdinIsPassedOn_TheStreamsStayApart_AndTheExitCodeIsTheCommands()
    {
        var result = await ProcessRunner.RunAsync("dotnet",
            [Cli(), "--endpoint", _endpoint, "task", "exec", _task.TaskId, "--", "sh", "-c", "tr a-z A-Z; echo to-stderr >&2; exit 3"],
            TimeSpan.FromMinutes(2), standardInput: "piped words\n", log: output.WriteLine);

        Assert.Equal(3, result.ExitCode);
        Assert.Equal("PIPED WORDS\n", result.StandardOutput);
        Assert.Equal("to-stderr\n", result.StandardError);
    }

    [Fact]
    public async Task InATerminal_TheRemoteTerminalHasOurSize_AndTheExitCodeComesBack()
    {
        // `script` runs the CLI on a pseudo-terminal whose size we set first; the remote command prints the size of its own.
        // Engine API 1.41 cannot size an exec's terminal at its start, so the size is set by a resize just after it (as
        // `docker exec` does): a command that reads the size at once can be faster than that under load, so this one
        // waits for a size (up to 20 s) before it prints it, as a full-screen program redraws on SIGWINCH.
        const string remote = "for i in $(busybox seq 200); do s=$(busybox stty size 2>/dev/null); [ -n \"$s\" ] && [ \"$s\" != \"0 0\" ] && break; busybox usleep 100000; done; echo \"size $s\"; exit 7";
        var command = $"stty rows 33 cols 111; exec dotnet {Cli()} --endpoint {_endpoint} task exec {_task.TaskId} -- sh -c '{remote}'";
        var result = await ProcessRunner.RunAsync("script", ["-qec", command, "/dev/null"], TimeSpan.FromMinutes(2), log: output.WriteLine);

        Assert.Equal(7, result.ExitCode);
        Assert.Contains("size 33 111", result.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ATaskWithoutExec_IsRefusedInASentence_WithExit1()
    {
        var result = await ProcessRunner.RunAsync("dotnet",
            [Cli(), "--endpoint", _endpoint, "task", "exec", "0123456789abcdef0123456789abcdef", "-T", "--", "true"], TimeSpan.FromMinutes(2), log: output.WriteLine);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("not found", result.StandardError, StringComparison.Ordinal);
    }

    public async Task DisposeAsync()
    {
        await _relay.StopAsync();
        await _relay.DisposeAsync();
        await _agent.DisposeAsync();
        await _agent.RemoveContainersAsync();
        _state.Delete(recursive: true);
    }

    private static string Cli() => PathOf("Cli", "berth.dll");

    private static string PathOf(string project, string file)
    {
        var configuration = AppContext.BaseDirectory.Contains("/Release/", StringComparison.Ordinal) ? "Release" : "Debug";
        var path = Path.Combine(Deploy.InstallScriptTests.RepositoryRoot(), "src", project, "bin", configuration, "net10.0", file);
        Assert.True(File.Exists(path), $"{path} is missing: build Platform.sln first");
        return path;
    }

    /// <summary>What the scheduler's relay is to do (phase 2): each caller frame to the agent unchanged, each agent frame back.</summary>
    private sealed class ExecRelay(ExecSessions agent) : Scheduler.V1.Tasks.TasksBase
    {
        public override async Task ExecuteCommand(IAsyncStreamReader<ExecClientFrame> requestStream, IServerStreamWriter<ExecServerFrame> responseStream, ServerCallContext context)
        {
            var session = Guid.NewGuid().ToString("N");
            var back = new BlockingCollection<ExecServerFrame>();
            Task Send(ExecFromAgent frame)
            {
                back.Add(frame.Frame);
                return Task.CompletedTask;
            }

            var forward = Task.Run(async () =>
            {
                await foreach (var frame in requestStream.ReadAllAsync(context.CancellationToken))
                {
                    agent.Handle(new ExecToAgent { SessionId = session, Frame = frame }, Send, CancellationToken.None);
                }
            }, CancellationToken.None);
            try
            {
                foreach (var frame in back.GetConsumingEnumerable(context.CancellationToken))
                {
                    await responseStream.WriteAsync(frame);
                    if (frame.BodyCase is ExecServerFrame.BodyOneofCase.Exited or ExecServerFrame.BodyOneofCase.Error)
                    {
                        return;
                    }
                }
            }
            finally
            {
                agent.Handle(new ExecToAgent { SessionId = session, Cancel = true }, Send, CancellationToken.None);
                _ = forward.ContinueWith(t => t.Exception, TaskScheduler.Default);
            }
        }
    }
}
