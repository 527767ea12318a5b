using System.Text;
using Berth.Scheduler.V1;
using Berth.TestSupport;
using Grpc.Core;
using Xunit.Abstractions;

namespace Berth.Agent.Tests.Sessions;

/// <summary>
/// <c>Tasks.GetTaskLogs</c> end to end: the scheduler process relays the request to the agent of the task's instance
/// (two agents are connected; only the right one is asked), the agent reads the container's output from the real
/// engine, and the chunks come back through the scheduler; follow delivers new lines; cancelling the call stops the
/// agent's stream; the errors are the ones the proto promises.
/// </summary>
[Collection(EngineCollection.Name)]
[Trait("Category", "System")]
public sealed class LogStreamingTests(EngineFixture engine, ITestOutputHelper output) : IAsyncLifetime
{
    private readonly LocalPlatform _platform = new(engine, output);

    [Fact]
    public async Task GetTaskLogs_RelaysTheRightAgentsOutput_WithTailFollowAndCancel()
    {
        _platform.StartScheduler();
        await _platform.ReadTokensAsync();
        var agents = new Dictionary<string, ServiceProcess> { ["agent1"] = _platform.StartAgent(name: "agent1"), ["agent2"] = _platform.StartAgent(name: "agent2") };
        await _platform.WaitForInstancesAsync(all => all.Count(i => i.AgentConnected) == 2);
        await _platform.RegisterAsync($$"""
            {"family":"e2e-logs","containerDefinitions":[{"name":"printer","image":"{{engine.Image}}","memory":32,"stopTimeout":2,
              "entryPoint":["sh","-c"],
              "command":["echo first; echo second; echo err-line >&2; i=0; trap 'exit 0' TERM; while true; do echo tick-$i; i=$((i+1)); sleep 0.2; done & wait"]}]}
            """);
        var taskId = await _platform.RunAsync("e2e-logs");
        var task = await _platform.WaitForTaskAsync(taskId, t => t.LastStatus == LifecycleStatus.Running);
        var owner = agents.Keys.Single(name => _platform.Output.Any(l => l.Contains($"[{name}]", StringComparison.Ordinal) && l.Contains($"Registered as container instance {task.ContainerInstanceId}", StringComparison.Ordinal)));
        var other = agents.Keys.Single(name => name != owner);
        await TaskTimeouts.WaitUntilAsync(async () => (await ReadAllAsync(new GetTaskLogsRequest { Cluster = LocalPlatform.Cluster, Task = taskId })).Text.Contains("tick-2", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "a few ticks");

        // Everything so far, both streams, in order per stream; the container name may be left out (one container).
        var all = await ReadAllAsync(new GetTaskLogsRequest { Cluster = LocalPlatform.Cluster, Task = task.TaskArn });
        Assert.StartsWith("first\nsecond\n", all.Stdout, StringComparison.Ordinal);
        Assert.Equal("err-line\n", all.Stderr);

        // Tail: only the last lines.
        var tail = await ReadAllAsync(new GetTaskLogsRequest { Cluster = LocalPlatform.Cluster, Task = taskId, Container = "printer", Tail = 2 });
        Assert.Equal(2, tail.Text.Count(c => c == '\n'));
        Assert.DoesNotContain("first", tail.Text, StringComparison.Ordinal);

        // Follow: lines printed after the call started keep arriving.
        using (var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
        {
            using var call = _platform.Tasks.GetTaskLogs(new GetTaskLogsRequest { Cluster = LocalPlatform.Cluster, Task = taskId, Follow = true }, _platform.Admin, cancellationToken: cancel.Token);
            var seen = new StringBuilder();
            int? firstTick = null;
            while (await call.ResponseStream.MoveNext(cancel.Token))
            {
                seen.Append(call.ResponseStream.Current.Data.ToStringUtf8());
                var ticks = Ticks(seen.ToString());
                firstTick ??= ticks.Count > 0 ? ticks.Max() : null;
                if (firstTick is { } f && ticks.Max() >= f + 5)
                {
                    break;
                }
            }

            Assert.NotNull(firstTick);
            output.WriteLine($"followed from tick {firstTick} to {Ticks(seen.ToString()).Max()}");
            await cancel.CancelAsync();
        }

        // Cancelling the call reaches the agent, which stops reading the container's output.
        await TaskTimeouts.WaitUntilAsync(() => Task.FromResult(_platform.Output.Any(l => l.Contains($"[{owner}]", StringComparison.Ordinal) && l.Contains("ended: cancelled", StringComparison.Ordinal))), TimeSpan.FromSeconds(15), "the agent's stream to be cancelled");

        // Only the agent of the task's instance was ever asked.
        Assert.Contains(_platform.Output, l => l.Contains($"[{owner}]", StringComparison.Ordinal) && l.Contains("Log stream", StringComparison.Ordinal));
        Assert.DoesNotContain(_platform.Output, l => l.Contains($"[{other}]", StringComparison.Ordinal) && l.Contains("Log stream", StringComparison.Ordinal));

        // The errors the proto promises.
        Assert.Equal(StatusCode.NotFound, (await ErrorAsync(new GetTaskLogsRequest { Cluster = LocalPlatform.Cluster, Task = "0123456789abcdef0123456789abcdef" })).StatusCode);
        var noContainer = await ErrorAsync(new GetTaskLogsRequest { Cluster = LocalPlatform.Cluster, Task = taskId, Container = "nope" });
        Assert.Equal(StatusCode.NotFound, noContainer.StatusCode);
        Assert.Contains("printer", noContainer.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(StatusCode.InvalidArgument, (await ErrorAsync(new GetTaskLogsRequest { Cluster = LocalPlatform.Cluster, Task = taskId, Tail = -1 })).StatusCode);

        await agents[owner].KillAsync();
        await _platform.WaitForInstanceAsync(i => !i.AgentConnected && i.ContainerInstanceId == task.ContainerInstanceId, TimeSpan.FromSeconds(30));
        Assert.Equal(StatusCode.Unavailable, (await ErrorAsync(new GetTaskLogsRequest { Cluster = LocalPlatform.Cluster, Task = taskId })).StatusCode);
    }

    [Fact]
    public async Task GetTaskLogs_OfAStoppedTaskWhoseContainerIsGone_ServesTheSavedLines_WithOptions_ThenSaysNothingIsLeft()
    {
        _platform.StartScheduler();
        await _platform.ReadTokensAsync();
        _platform.StartAgent();
        await _platform.WaitForInstancesAsync(all => all.Any(i => i.AgentConnected));
        await _platform.RegisterAsync($$"""
            {"family":"e2e-saved","containerDefinitions":[{"name":"dies","image":"{{engine.Image}}","memory":32,
              "entryPoint":["sh","-c"],"command":["echo one; echo two; echo 'cannot open /config.json' >&2; exit 4"]}]}
            """);
        var taskId = await _platform.RunAsync("e2e-saved");
        var stopped = await _platform.WaitForTaskAsync(taskId, t => t.LastStatus == LifecycleStatus.Stopped);
        Assert.Equal(4, stopped.Containers[0].ExitCode);
        // The test agent keeps no stopped containers (TaskCleanup:Wait 0): once the scheduler lets go, the container goes.
        await TaskTimeouts.WaitUntilAsync(async () => (await engine.Runtime.ListContainersAsync(new Dictionary<string, string> { ["berth.task-id"] = taskId }, CancellationToken.None)).Count == 0,
            TimeSpan.FromSeconds(30), "the stopped task's container to be removed");

        // Through the scheduler: the notice first, then the saved lines, with the engine's timestamps when asked.
        var saved = await ReadAllAsync(new GetTaskLogsRequest { Cluster = LocalPlatform.Cluster, Task = taskId, Options = new LogReadOptions { Timestamps = true } });
        Assert.Equal(LogStreamNotice.Types.Source.Saved, saved.Notice?.Source);
        Assert.NotNull(saved.Notice!.SavedAt);
        output.WriteLine(saved.Notice.Message);
        Assert.Matches(@"^\d{4}-\d\d-\d\dT[\d:.]+Z one\n\S+Z two\n$", saved.Stdout);
        Assert.EndsWith("Z cannot open /config.json\n", saved.Stderr, StringComparison.Ordinal);

        // The options travel unchanged: tail 0 is no lines (not "all", as the old tail field reads 0), tail 1 the last.
        var none = await ReadAllAsync(new GetTaskLogsRequest { Cluster = LocalPlatform.Cluster, Task = taskId, Options = new LogReadOptions { Tail = 0 } });
        Assert.Equal((LogStreamNotice.Types.Source.Saved, string.Empty), (none.Notice?.Source, none.Text));
        var last = await ReadAllAsync(new GetTaskLogsRequest { Cluster = LocalPlatform.Cluster, Task = taskId, Options = new LogReadOptions { Tail = 1 } });
        Assert.Single(last.Text.Split('\n', StringSplitOptions.RemoveEmptyEntries));

        // The saved lines gone too (past their retention): the answer says nothing is left, instead of an empty success.
        File.Delete(Path.Combine(_platform.StateDirectoryOf("agent"), "logs", taskId + ".json"));
        var gone = await ReadAllAsync(new GetTaskLogsRequest { Cluster = LocalPlatform.Cluster, Task = taskId });
        Assert.Equal(LogStreamNotice.Types.Source.None, gone.Notice?.Source);
        Assert.Equal(string.Empty, gone.Text);
        output.WriteLine(gone.Notice!.Message);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _platform.StopAsync();

    private static List<int> Ticks(string text) =>
        text.Split('\n').Where(l => l.StartsWith("tick-", StringComparison.Ordinal)).Select(l => int.Parse(l[5..], System.Globalization.CultureInfo.InvariantCulture)).ToList();

    private async Task<(string Stdout, string Stderr, string Text, LogStreamNotice? Notice)> ReadAllAsync(GetTaskLogsRequest request)
    {
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        LogStreamNotice? notice = null;
        using var call = _platform.Tasks.GetTaskLogs(request, _platform.Admin, deadline: DateTime.UtcNow.AddSeconds(30));
        await foreach (var chunk in call.ResponseStream.ReadAllAsync())
        {
            notice ??= chunk.Notice;
            (chunk.Stream == "stderr" ? stderr : stdout).Append(chunk.Data.ToStringUtf8());
        }

        return (stdout.ToString(), stderr.ToString(), stdout.ToString() + stderr, notice);
    }

    private async Task<RpcException> ErrorAsync(GetTaskLogsRequest request) =>
        await Assert.ThrowsAsync<RpcException>(() => ReadAllAsync(request));
}
