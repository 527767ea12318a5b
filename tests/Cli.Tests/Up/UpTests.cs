using Berth.Cli.Common;
using Berth.TestSupport;
using Xunit.Abstractions;

namespace Berth.Cli.Tests.Up;

/// <summary>
/// <c>berth up</c> against the real Docker engine: ready with the CLI logged in, a task runs on the local agent,
/// Ctrl-C (SIGTERM) stops the platform but not the task, and the next <c>berth up</c> adopts it.
/// </summary>
[Trait("Category", "System")]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class UpTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Up_IsReadyLoggedIn_RunsATask_StopsCleanly_AndTheNextUpAdoptsTheTask()
    {
        await using var space = await UpWorkspace.CreateAsync("up-test", output);
        var (scope, arguments, home) = (space.Scope, space.Arguments(), space.Home);
        using var cli = new CliRunner(output, home);
        var up = await space.StartUpAsync(output, arguments);
        try
        {
            output.WriteLine($"berth up ready in {up.ReadySeconds} s");
            // The CLI was logged in by `up`: no flags, no login.
            var instances = await cli.RunAsync("-o", "json", "instance", "list");
            Assert.Single(instances.Json.AsArray());
            Assert.True((bool?)instances.Json[0]!["agentConnected"]);
            (await cli.RunAsync("registry", "repos")).EnsureSuccess();

            var taskdef = Path.Combine(space.WorkDirectory, "sleeper.json");
            await File.WriteAllTextAsync(taskdef, $$"""
                {"family":"sleeper-{{scope}}","containerDefinitions":[{"name":"main","image":"{{TestImages.Busybox}}","memory":16,"stopTimeout":2,
                  "entryPoint":["sh","-c"],"command":["trap 'exit 0' TERM; echo hello from {{scope}}; sleep 3600 & wait"]}]}
                """);
            (await cli.RunAsync("taskdef", "register", taskdef)).EnsureSuccess();
            var run = (await cli.RunAsync("-o", "json", "task", "run", "--taskdef", $"sleeper-{scope}", "--wait", "--timeout", "120s")).EnsureSuccess();
            var task = run.Json[0]!;
            var taskId = (string)task["taskId"]!;
            var container = (string)task["containers"]![0]!["runtimeId"]!;

            await up.StopAsync();
            Assert.True(up.HasExited);
            Assert.Contains(up.Lines, l => l.Contains("tasks keep running", StringComparison.Ordinal));
            var stillRunning = (await ProcessRunner.RunAsync("docker", ["inspect", "--format", "{{.State.Running}}", container])).EnsureSuccess("docker inspect");
            Assert.Equal("true", stillRunning.StandardOutput.Trim());
            var down = await cli.RunAsync("cluster", "list");
            Assert.Contains("cannot reach the scheduler", down.Error, StringComparison.Ordinal);

            await up.RestartAsync(arguments, output.WriteLine);
            var adopted = (await cli.RunAsync("-o", "json", "task", "describe", taskId)).EnsureSuccess().Json[0]!;
            Assert.Equal("LIFECYCLE_STATUS_RUNNING", (string?)adopted["lastStatus"]);
            Assert.Equal(container, (string?)adopted["containers"]![0]!["runtimeId"]);
            var containers = (await ProcessRunner.RunAsync("docker", ["ps", "-q", "--filter", $"label=berth.agent={scope}"])).EnsureSuccess("docker ps").StandardOutput;
            Assert.Single(containers.Split('\n', StringSplitOptions.RemoveEmptyEntries));

            // Its output, streamed from the agent through the scheduler.
            var logs = (await cli.RunAsync("logs", taskId)).EnsureSuccess();
            Assert.Contains($"hello from {scope}", logs.Output, StringComparison.Ordinal);

            // Ctrl-C ends `logs -f` with 130, as the shell reports SIGINT (timeout sends the SIGINT after 8 s: start-up and some following).
            var follow = await ProcessRunner.RunAsync("timeout",
                ["--preserve-status", "-s", "INT", "8s", "dotnet", PlatformProcesses.Binary("Cli", "berth.dll"), "logs", "-f", taskId],
                TimeSpan.FromSeconds(60), environment: new Dictionary<string, string> { ["BERTH_HOME"] = home }, log: output.WriteLine);
            Assert.Equal(130, follow.ExitCode);
            Assert.Contains($"hello from {scope}", follow.StandardOutput, StringComparison.Ordinal);

            // Stopped, the task's container is kept for the agent's cleanup wait, and its output is still there.
            (await cli.RunAsync("task", "stop", taskId)).EnsureSuccess();
            await TaskTimeouts.WaitUntilAsync(async () =>
                (await ProcessRunner.RunAsync("docker", ["ps", "-q", "--filter", $"label=berth.agent={scope}"])).StandardOutput.Trim().Length == 0,
                TimeSpan.FromSeconds(90), "the stopped task's container to stop");
            var kept = (await ProcessRunner.RunAsync("docker", ["ps", "-aq", "--filter", $"label=berth.agent={scope}"])).StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(container[..12], Assert.Single(kept));
            var afterStop = (await cli.RunAsync("logs", taskId, "--timestamps")).EnsureSuccess();
            Assert.Matches($@"^\d{{4}}-\d\d-\d\dT\S+Z hello from {scope}\n", afterStop.Output);
            Assert.Equal(string.Empty, (await cli.RunAsync("logs", taskId, "--tail", "0")).EnsureSuccess().Output);
        }
        finally
        {
            await up.DisposeAsync();
        }
    }

    [Fact]
    public async Task Up_Detached_RunsInTheBackground_StatusShowsItsParts_AndDownStopsIt()
    {
        await using var space = await UpWorkspace.CreateAsync("up-detach", output);
        var data = space.DataDirectory;
        string[] arguments = ["--data-dir", data, .. space.Arguments()];
        using var cli = new CliRunner(output, space.Home);
        try
        {
            var up = (await cli.RunAsync(["up", "--detach", .. arguments])).EnsureSuccess();
            Assert.Contains("runs in the background", up.Output, StringComparison.Ordinal);
            Assert.Contains("initial-admin-password", up.Output, StringComparison.Ordinal);

            // Logged in as the foreground `up` would, and its parts answer.
            var status = (await cli.RunAsync("-o", "json", "status", "--data-dir", data)).EnsureSuccess().Json;
            Assert.Equal((true, true, true), ((bool)status["running"]!, (bool)status["healthy"]!, (bool)status["agent"]!["connected"]!));
            var pids = new[] { "pid" }.Select(k => (int)status[k]!)
                .Concat(new[] { "registry", "scheduler", "agent" }.Select(part => (int)status[part]!["pid"]!)).ToList();
            Assert.All(pids, pid => Assert.True(IsRunning(pid), $"pid {pid} runs"));
            (await cli.RunAsync("instance", "list")).EnsureSuccess();

            // A second platform on the same data directory is refused, naming the running one.
            var again = await cli.RunAsync(["up", .. arguments]);
            Assert.Equal(ExitCodes.Failure, again.ExitCode);
            Assert.Contains("already running", again.Error, StringComparison.Ordinal);

            (await cli.RunAsync("down", "--data-dir", data)).EnsureSuccess();
            Assert.All(pids, pid => Assert.False(IsRunning(pid), $"pid {pid} is gone"));
            var stopped = await cli.RunAsync("status", "--data-dir", data);
            Assert.Equal(ExitCodes.Failure, stopped.ExitCode);
            Assert.Contains("not running", stopped.Output, StringComparison.Ordinal);
            Assert.Empty(Directory.GetFiles(Path.Combine(data, "run")));
        }
        finally
        {
            await cli.RunAsync("down", "--data-dir", data);
        }
    }

    [Fact]
    public async Task Up_EveryDataDirectoryIsPrivate_LooserModesFromBeforeAreTightened()
    {
        await using var space = await UpWorkspace.CreateAsync("up-modes", output);
        var data = space.DataDirectory;
        // What an older version left: world-readable directories and an (empty) world-readable database.
        const UnixFileMode Open = (UnixFileMode)0b111_101_101, OpenFile = (UnixFileMode)0b110_100_100;
        Directory.CreateDirectory(Path.Combine(data, "scheduler"));
        File.SetUnixFileMode(data, Open);
        File.SetUnixFileMode(Path.Combine(data, "scheduler"), Open);
        await File.WriteAllBytesAsync(Path.Combine(data, "scheduler", "scheduler.db"), []);
        File.SetUnixFileMode(Path.Combine(data, "scheduler", "scheduler.db"), OpenFile);

        var up = await space.StartUpAsync(output, space.Arguments());
        try
        {
            // While the three parts run: their SQLite files have write-ahead logs and shared-memory files, which SQLite
            // creates by itself; every one of them, and everything else under the data directory, is owner-only.
            string[] expected =
            [
                "registry/registry.db-wal", "registry/registry.db-shm", "registry/auth.db-wal", "registry/auth.db-shm",
                "registry/auth/token-signing-key.pem", "registry/initial-admin-password", "registry/blobs", "registry/uploads",
                "scheduler/scheduler.db-wal", "scheduler/scheduler.db-shm", "scheduler/admin-token", "scheduler/join-token",
                "scheduler/registry-pull-secret", "agent/state/instance.json", "logs/scheduler.log",
            ];
            foreach (var path in expected)
            {
                Assert.True(Path.Exists(Path.Combine(data, path)), $"{path} exists");
            }

            var loose = new List<string>();
            foreach (var entry in new DirectoryInfo(data).EnumerateFileSystemInfos("*", SearchOption.AllDirectories).Prepend(new DirectoryInfo(data)))
            {
                var want = entry is DirectoryInfo ? (UnixFileMode)0b111_000_000 : (UnixFileMode)0b110_000_000;
                var mode = File.GetUnixFileMode(entry.FullName);
                output.WriteLine($"{Convert.ToString((int)mode, 8)} {Path.GetRelativePath(data, entry.FullName)}");
                if (mode != want)
                {
                    loose.Add($"{Path.GetRelativePath(data, entry.FullName)} is {Convert.ToString((int)mode, 8)}");
                }
            }

            Assert.Empty(loose);
        }
        finally
        {
            await up.DisposeAsync();
        }
    }

    [Fact]
    public async Task Up_KilledWithSigkill_LeavesNoPartOfThePlatformRunning()
    {
        await using var space = await UpWorkspace.CreateAsync("up-kill", output);
        var up = await space.StartUpAsync(output, space.Arguments());
        List<int> children = [];
        try
        {
            children = ChildrenOf(up.ProcessId);
            output.WriteLine($"berth up {up.ProcessId}, children {string.Join(' ', children)}");
            Assert.Equal(4, children.Count); // registry, scheduler, agent, load balancer

            // No SIGTERM for berth to forward: it is simply gone. (What the children log on the way out is lost with it:
            // their output went through its pipes.)
            await up.KillOnlyItselfAsync();

            await TaskTimeouts.WaitUntilAsync(
                () => Task.FromResult(children.All(pid => !Directory.Exists($"/proc/{pid}"))),
                TimeSpan.FromSeconds(60),
                "every child of the killed berth up to exit");
        }
        finally
        {
            foreach (var pid in children.Where(pid => Directory.Exists($"/proc/{pid}")))
            {
                await ProcessRunner.RunAsync("kill", ["-KILL", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            }

            await up.DisposeAsync();
        }
    }

    // Running, not a zombie: the detached `berth up` is this test process's child (started in-process), and is reaped
    // only when the test host gets to it; a user's shell has long exited, and init reaps it at once.
    private static bool IsRunning(int pid) => TryRead($"/proc/{pid}/stat") is { } stat && stat[(stat.LastIndexOf(')') + 2)] != 'Z';

    // The processes whose parent is pid (field 4 of /proc/PID/stat, after the parenthesised command name).
    private static List<int> ChildrenOf(int pid) =>
        [.. Directory.EnumerateDirectories("/proc")
            .Select(Path.GetFileName)
            .Where(name => name!.All(char.IsAsciiDigit))
            .Select(name => (Pid: int.Parse(name!, System.Globalization.CultureInfo.InvariantCulture), Stat: TryRead($"/proc/{name}/stat")))
            .Where(p => p.Stat is not null && ParentOf(p.Stat) == pid)
            .Select(p => p.Pid)];

    private static int ParentOf(string stat) =>
        int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);

    private static string? TryRead(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }
}
