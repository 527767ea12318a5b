using Berth.Agent.Tests.Sessions;
using Berth.Scheduler.V1;
using Berth.TestSupport;
using Xunit.Abstractions;

namespace Berth.Agent.Tests.Exec;

/// <summary>
/// <c>berth task exec</c> as a user runs it: the real CLI process, over real gRPC, through the real scheduler process
/// (Tasks.ExecuteCommand: the refusal, the relay, the record) and the real agent process (its Session stream, the
/// engine's exec), into a real container. Without a terminal (a script: stdin piped, stdout and stderr apart, the exit
/// code passed through) and with one (the CLI under <c>script</c>, which gives it a pseudo-terminal: raw mode, the
/// terminal's size sent first, a resize passed on).
/// </summary>
[Collection(EngineCollection.Name)]
[Trait("Category", "System")]
public sealed class ExecThroughTheCliTests(EngineFixture engine, ITestOutputHelper output) : IAsyncLifetime
{
    private readonly LocalPlatform _platform = new(engine, output);
    private readonly Dictionary<string, string> _cliEnvironment = [];
    private string _execTask = null!;
    private string _plainTask = null!;

    public async Task InitializeAsync()
    {
        _platform.StartScheduler();
        await _platform.ReadTokensAsync();
        _platform.StartAgent();
        await _platform.WaitForInstancesAsync(all => all.Any(i => i.AgentConnected));
        await _platform.RegisterAsync($$"""
            {"family":"e2e-exec","containerDefinitions":[{"name":"main","image":"{{engine.Image}}","memory":32,"stopTimeout":2,
              "entryPoint":["sh","-c"],"command":["trap 'exit 0' TERM; sleep 300 & wait"]}]}
            """);
        var run = await _platform.Tasks.RunTaskAsync(new RunTaskRequest { Cluster = LocalPlatform.Cluster, TaskDefinition = "e2e-exec", EnableExecuteCommand = true }, _platform.Admin);
        _execTask = Assert.Single(run.Tasks).TaskId;
        _plainTask = await _platform.RunAsync("e2e-exec");
        await _platform.WaitForTaskAsync(_execTask, t => t.LastStatus == LifecycleStatus.Running, TimeSpan.FromMinutes(2));
        await _platform.WaitForTaskAsync(_plainTask, t => t.LastStatus == LifecycleStatus.Running, TimeSpan.FromMinutes(2));

        // The CLI as a user has it: the scheduler's address, its admin token and the cluster, with a home of its own.
        var home = Path.Combine(_platform.WorkDirectory, "home");
        Directory.CreateDirectory(home);
        _cliEnvironment["HOME"] = home;
        _cliEnvironment["BERTH_ENDPOINT"] = $"http://127.0.0.1:{_platform.SchedulerPort}";
        _cliEnvironment["BERTH_TOKEN"] = _platform.Admin.GetValue("authorization")!["Bearer ".Length..];
        _cliEnvironment["BERTH_CLUSTER"] = LocalPlatform.Cluster;
    }

    [Fact]
    public async Task InAScript_StdinIsPassedOn_TheStreamsStayApart_AndTheExitCodeIsTheCommands()
    {
        var result = await ProcessRunner.RunAsync("dotnet",
            [Cli(), "task", "exec", _execTask, "--", "sh", "-c", "tr a-z A-Z; echo to-stderr >&2; exit 3"],
            TimeSpan.FromMinutes(2), standardInput: "piped words\n", environment: _cliEnvironment, log: output.WriteLine);

        Assert.Equal(3, result.ExitCode);
        Assert.Equal("PIPED WORDS\n", result.StandardOutput);
        Assert.Equal("to-stderr\n", result.StandardError);

        // The scheduler recorded the session: who, task, container, command, exit code.
        await TaskTimeouts.WaitUntilAsync(() => Task.FromResult(_platform.Output.Any(l =>
            l.Contains("[scheduler]", StringComparison.Ordinal) && l.Contains("by the API token from 127.0.0.1 ended", StringComparison.Ordinal)
            && l.Contains($"task {_execTask}, container main, command sh -c 'tr a-z A-Z; echo to-stderr >&2; exit 3': exit code 3", StringComparison.Ordinal))),
            TimeSpan.FromSeconds(15), "the scheduler's record of the session");
    }

    [Fact]
    public async Task InATerminal_TheRemoteTerminalHasOurSize_FollowsAResize_AndTheExitCodeComesBack()
    {
        // Two pseudo-terminals: the outer `script` gives a controlling shell a terminal (33x111); an inner `script`
        // runs the CLI on a terminal of its own that follows the outer one's size (it passes SIGWINCH on) and writes
        // what the CLI shows to a file as it comes (-f). The remote shell prints its terminal's size, waits for it to
        // change, and prints it again; the controller resizes once the first size is in the file.
        var work = _platform.WorkDirectory;
        var typescript = Path.Combine(work, "exec-typescript");
        // Engine API 1.41 cannot size an exec's terminal at its start: the size comes with a resize just after it (as
        // `docker exec` does), so the remote shell waits for a size before it prints it, then for a different one.
        var remote = "for i in $(busybox seq 200); do s=$(busybox stty size 2>/dev/null); [ -n \"$s\" ] && [ \"$s\" != \"0 0\" ] && break; busybox usleep 100000; done; echo \"size $s\"; "
            + "for i in $(busybox seq 600); do t=$(busybox stty size 2>/dev/null); [ \"$t\" != \"$s\" ] && break; busybox usleep 100000; done; echo \"size $t\"; exit 7";
        var cli = Path.Combine(work, "exec-cli.sh");
        await File.WriteAllTextAsync(cli, $"exec dotnet {Cli()} task exec {_execTask} -- sh -c '{remote}'\n");
        var control = Path.Combine(work, "exec-control.sh");
        await File.WriteAllTextAsync(control, $"""
            stty rows 33 cols 111
            script -qfec "sh {cli}" {typescript} </dev/tty &
            child=$!
            i=0
            while ! grep -q 'size 33 111' {typescript} 2>/dev/null && [ $i -lt 1200 ]; do sleep 0.1; i=$((i+1)); done
            stty rows 44 cols 99
            wait $child
            echo "exit=$?"

            """);

        var result = await ProcessRunner.RunAsync("script", ["-qec", $"sh {control}", "/dev/null"], TimeSpan.FromMinutes(3), environment: _cliEnvironment, log: output.WriteLine);

        var shown = await File.ReadAllTextAsync(typescript);
        output.WriteLine("typescript: " + shown);
        Assert.Contains("size 33 111", shown, StringComparison.Ordinal);
        Assert.Contains("size 44 99", shown, StringComparison.Ordinal);
        Assert.Contains("exit=7", result.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ATaskRunWithoutExec_IsRefusedInEcsWords_WithExit1()
    {
        var result = await ProcessRunner.RunAsync("dotnet",
            [Cli(), "task", "exec", _plainTask, "-T", "--", "true"], TimeSpan.FromMinutes(2), environment: _cliEnvironment, log: output.WriteLine);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("execute command was not enabled when the task was run", result.StandardError, StringComparison.Ordinal);
    }

    public Task DisposeAsync() => _platform.StopAsync();

    private static string Cli() => PathOf("Cli", "berth.dll");

    private static string PathOf(string project, string file)
    {
        var configuration = AppContext.BaseDirectory.Contains("/Release/", StringComparison.Ordinal) ? "Release" : "Debug";
        var path = Path.Combine(Deploy.InstallScriptTests.RepositoryRoot(), "src", project, "bin", configuration, "net10.0", file);
        Assert.True(File.Exists(path), $"{path} is missing: build Platform.sln first");
        return path;
    }
}
