using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Berth.Agent.Runtime;
using Berth.TestSupport;
using Xunit.Abstractions;

namespace Berth.Agent.Tests.Runtime;

[Collection(EngineCollection.Name)]
[Trait("Category", "System")]
public sealed class DockerContainerRuntimeTests(EngineFixture engine, ITestOutputHelper output)
{
    private static readonly TimeSpan s_step = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task GetInfo_ReportsCpusAndMemory()
    {
        var info = await engine.Runtime.GetInfoAsync(CancellationToken.None).WithTimeout(s_step);

        Assert.Equal(Environment.ProcessorCount, info.CpuCount);
        Assert.True(info.MemoryBytes > 256L * 1024 * 1024, $"MemTotal {info.MemoryBytes}");
        Assert.StartsWith("20.10", info.ServerVersion, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Create_AppliesLabelsEnvironmentLimitsAndPorts()
    {
        var name = Name("spec");
        var spec = new ContainerCreateSpec
        {
            Name = name,
            Image = engine.Image,
            Labels = Labels(("berth.task-id", "t-1"), ("berth.container-name", "web")),
            Environment = new Dictionary<string, string> { ["GREETING"] = "hello there" },
            EntryPoint = ["sh", "-c"],
            Command = ["trap 'exit 0' TERM; echo \"$GREETING\" > /tmp/g; while true; do echo hi | nc -l -p 8080; done & wait"],
            Ports = [new PortBindingSpec(8080, "tcp", 0)],
            CpuShares = 256,
            NanoCpus = 500_000_000,
            MemoryBytes = 64L * 1024 * 1024,
            MemoryReservationBytes = 32L * 1024 * 1024,
        };

        var id = await engine.Runtime.CreateContainerAsync(spec, CancellationToken.None).WithTimeout(s_step);
        await engine.Runtime.StartContainerAsync(id, CancellationToken.None).WithTimeout(s_step);
        var details = await engine.Runtime.InspectContainerAsync(id, CancellationToken.None).WithTimeout(s_step);

        Assert.NotNull(details);
        Assert.Equal(ContainerRunState.Running, details.State);
        Assert.Equal(name, details.Name);
        Assert.Equal("t-1", details.Labels["berth.task-id"]);
        var port = Assert.Single(details.Ports, p => p.ContainerPort == 8080);
        Assert.InRange(port.HostPort, 1, 65535);
        var limits = await Docker("inspect", "--format", "{{.HostConfig.CpuShares}} {{.HostConfig.NanoCpus}} {{.HostConfig.Memory}} {{.HostConfig.MemoryReservation}}", id);
        Assert.Equal($"256 500000000 {64 * 1024 * 1024} {32 * 1024 * 1024}", limits.Trim());
        Assert.Equal("hello there", (await Docker("exec", id, "cat", "/tmp/g")).Trim());

        // The dynamic host port really forwards to the container.
        await TaskTimeouts.WaitUntilAsync(async () => (await TryReadAsync(port.HostPort)).Contains("hi", StringComparison.Ordinal), s_step, "the published port to answer");
    }

    [Fact]
    public async Task Stop_SendsTermFirst_AndKillsAfterTheTimeout()
    {
        var polite = await RunAsync("polite", "trap 'exit 0' TERM; sleep 300 & wait");
        var stubborn = await RunAsync("stubborn", "sleep 300");

        var watch = Stopwatch.StartNew();
        await engine.Runtime.StopContainerAsync(polite, TimeSpan.FromSeconds(10), CancellationToken.None).WithTimeout(s_step);
        var politeTime = watch.Elapsed;
        watch.Restart();
        await engine.Runtime.StopContainerAsync(stubborn, TimeSpan.FromSeconds(1), CancellationToken.None).WithTimeout(s_step);
        var stubbornTime = watch.Elapsed;

        var p = await engine.Runtime.InspectContainerAsync(polite, CancellationToken.None);
        var s = await engine.Runtime.InspectContainerAsync(stubborn, CancellationToken.None);
        Assert.Equal(0, p!.ExitCode);
        Assert.True(politeTime < TimeSpan.FromSeconds(5), $"TERM-handling container took {politeTime}");
        Assert.Equal(137, s!.ExitCode);
        Assert.True(stubbornTime >= TimeSpan.FromSeconds(0.9), $"SIGKILL came after {stubbornTime}, before the timeout");
    }

    [Fact]
    public async Task Events_ReportHealthAndDeath()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(45));
        var run = Guid.NewGuid().ToString("N")[..8];
        var labels = Labels(("berth.case", run));
        var seen = new List<string>();
        var sawDie = new TaskCompletionSource();
        var watcher = Task.Run(async () =>
        {
            await foreach (var e in engine.Runtime.WatchEventsAsync(labels, cts.Token))
            {
                lock (seen)
                {
                    seen.Add(e.Action);
                }

                if (e.Action == "die")
                {
                    Assert.Equal("3", e.Attributes["exitCode"]);
                    sawDie.TrySetResult();
                    return;
                }
            }
        });
        await Task.Delay(300);

        var id = await engine.Runtime.CreateContainerAsync(new ContainerCreateSpec
        {
            Name = Name("events"),
            Image = engine.Image,
            Labels = labels,
            EntryPoint = ["sh", "-c"],
            Command = ["touch /tmp/ok; sleep 2; exit 3"],
            HealthCheck = new HealthCheckSpec(["CMD-SHELL", "test -f /tmp/ok"], TimeSpan.FromMilliseconds(300), TimeSpan.FromSeconds(1), 2, TimeSpan.Zero),
        }, CancellationToken.None);
        await engine.Runtime.StartContainerAsync(id, CancellationToken.None);

        await sawDie.Task.WithTimeout(s_step);
        await watcher;
        output.WriteLine(string.Join(", ", seen));
        Assert.Contains("start", seen);
        Assert.Contains("health_status: healthy", seen);
    }

    [Fact]
    public async Task Logs_FollowUntilTheContainerExits()
    {
        var id = await RunAsync("logs", "echo one; echo two >&2; sleep 1; echo three");

        var lines = new List<LogLine>();
        using var cts = new CancellationTokenSource(s_step);
        await foreach (var line in engine.Runtime.ReadLogsAsync(id, new LogReadSpec { Follow = true }, cts.Token))
        {
            lines.Add(line);
        }

        // The engine keeps order within a stream, not between stdout and stderr.
        Assert.Equal(["one", "three"], lines.Where(l => !l.IsError).Select(l => l.Text));
        Assert.Equal(["two"], lines.Where(l => l.IsError).Select(l => l.Text));
        // Every line carries the engine's time (RFC 3339, nanoseconds), in order.
        Assert.All(lines, l => Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{1,9}Z$", l.Timestamp));
        var times = lines.Where(l => !l.IsError).Select(l => l.Time!.Value).ToList();
        Assert.Equal(times.Order(), times);
    }

    [Fact]
    public async Task Logs_TailZeroGivesNoLines_TailNTheLast_AndSinceOnlyLaterOnes()
    {
        var id = await RunAsync("logs-opts", "echo a; echo b; echo c; sleep 2; echo d");
        await TaskTimeouts.WaitUntilAsync(async () => (await engine.Runtime.InspectContainerAsync(id, CancellationToken.None))?.State == ContainerRunState.Exited, s_step, "the container to exit");

        async Task<List<LogLine>> ReadAsync(LogReadSpec spec)
        {
            var lines = new List<LogLine>();
            await foreach (var line in engine.Runtime.ReadLogsAsync(id, spec, CancellationToken.None))
            {
                lines.Add(line);
            }

            return lines;
        }

        var all = await ReadAsync(new LogReadSpec());
        Assert.Equal(["a", "b", "c", "d"], all.Select(l => l.Text));
        Assert.Empty(await ReadAsync(new LogReadSpec { Tail = 0 }));
        Assert.Equal(["c", "d"], (await ReadAsync(new LogReadSpec { Tail = 2 })).Select(l => l.Text));
        // Since: d was written two seconds after c; a time between them keeps only d.
        var between = all[2].Time!.Value + TimeSpan.FromSeconds(1);
        Assert.Equal(["d"], (await ReadAsync(new LogReadSpec { Since = between })).Select(l => l.Text));
    }

    [Fact]
    public async Task Exec_WithoutATty_SeparatesTheStreams_TakesInput_AndReportsTheExitCode()
    {
        var id = await RunAsync("exec", "trap 'exit 0' TERM; sleep 300 & wait");
        await using var exec = await engine.Runtime.StartExecAsync(id, new ExecSpec { Command = ["sh", "-c", "cat; echo err >&2; exit 7"], Stdin = true }, CancellationToken.None);
        await exec.WriteInputAsync("from stdin\n"u8.ToArray(), CancellationToken.None);
        await exec.CloseInputAsync(CancellationToken.None);

        var (stdout, stderr) = (new StringBuilder(), new StringBuilder());
        using var cts = new CancellationTokenSource(s_step);
        await foreach (var chunk in exec.ReadOutputAsync(cts.Token))
        {
            (chunk.IsError ? stderr : stdout).Append(Encoding.UTF8.GetString(chunk.Data.Span));
        }

        Assert.Equal("from stdin\n", stdout.ToString());
        Assert.Equal("err\n", stderr.ToString());
        await TaskTimeouts.WaitUntilAsync(async () => await exec.GetExitCodeAsync(CancellationToken.None) is not null, s_step, "the exit code");
        Assert.Equal(7, await exec.GetExitCodeAsync(CancellationToken.None));
    }

    [Fact]
    public async Task List_FindsOnlyContainersWithTheLabels()
    {
        var run = Guid.NewGuid().ToString("N")[..8];
        var a = await RunAsync("list-a", "sleep 300", ("berth.case", run));
        await RunAsync("list-b", "sleep 300", ("berth.case", run + "x"));

        var found = await engine.Runtime.ListContainersAsync(Labels(("berth.case", run)), CancellationToken.None).WithTimeout(s_step);

        Assert.Equal(a, Assert.Single(found).Id);
    }

    [Fact]
    public async Task Pull_FromAnUnreachableRegistry_ThrowsWithTheEngineMessage()
    {
        var ex = await Assert.ThrowsAsync<ImagePullException>(
            () => engine.Runtime.PullImageAsync("127.0.0.1:1/nothing/here:1", null, null, CancellationToken.None).WithTimeout(s_step));

        output.WriteLine(ex.Message);
        Assert.Contains("127.0.0.1:1", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pull_FromARegistry_ReportsProgressAndTheImageArrives()
    {
        await using var registry = await DistributionRegistry.StartAsync(output.WriteLine);
        var reference = (await registry.PushAsync(engine: null, $"agent-test/pull:{engine.RunId}")).Reference;
        Assert.Null(await engine.Runtime.InspectImageAsync(reference, CancellationToken.None));

        var progress = new List<PullProgress>();
        await engine.Runtime.PullImageAsync(
            reference,
            new RegistryCredential(registry.Address, "robot", "secret"),
            new SyncProgress<PullProgress>(progress.Add),
            CancellationToken.None).WithTimeout(s_step);

        try
        {
            Assert.NotNull(await engine.Runtime.InspectImageAsync(reference, CancellationToken.None));
            Assert.Contains(progress, p => p.Status.StartsWith("Status: Downloaded newer image", StringComparison.Ordinal) || p.Status.Contains("Pull complete", StringComparison.Ordinal));
        }
        finally
        {
            Assert.True(await engine.Runtime.RemoveImageAsync(reference, CancellationToken.None));
        }

        Assert.Null(await engine.Runtime.InspectImageAsync(reference, CancellationToken.None));
        Assert.NotNull(await engine.Runtime.InspectImageAsync(engine.Image, CancellationToken.None));
    }

    [Fact]
    public async Task ContainerDetails_CarryTheManifestDigestThePullResolved_ElseTheImageId()
    {
        await using var registry = await DistributionRegistry.StartAsync(output.WriteLine);
        var (reference, manifestDigest) = await registry.PushAsync(engine: null, $"agent-test/digest:{engine.RunId}");
        string? pulled = null, local = null;
        try
        {
            await engine.Runtime.PullImageAsync(reference, null, null, CancellationToken.None).WithTimeout(s_step);
            pulled = await engine.Runtime.CreateContainerAsync(new ContainerCreateSpec { Name = Name("digest-pulled"), Image = reference, Labels = Labels() }, CancellationToken.None);
            local = await engine.Runtime.CreateContainerAsync(new ContainerCreateSpec { Name = Name("digest-local"), Image = engine.Image, Labels = Labels() }, CancellationToken.None);

            var pulledDetails = (await engine.Runtime.InspectContainerAsync(pulled, CancellationToken.None))!;
            var localDetails = (await engine.Runtime.InspectContainerAsync(local, CancellationToken.None))!;

            // The registry's manifest digest for the pulled reference; the image id for an imported image, never the name.
            Assert.Equal(manifestDigest, pulledDetails.ImageDigest);
            Assert.Equal((await Docker("inspect", "--format", "{{.Image}}", local)).Trim(), localDetails.ImageDigest);
            Assert.Equal(localDetails.ImageDigest, (await engine.Runtime.ListContainersAsync(Labels(), CancellationToken.None)).Single(c => c.Id == local).ImageDigest);
        }
        finally
        {
            foreach (var id in new[] { pulled, local }.OfType<string>())
            {
                await engine.Runtime.RemoveContainerAsync(id, CancellationToken.None);
            }

            await engine.Runtime.RemoveImageAsync(reference, CancellationToken.None);
        }
    }

    [Fact]
    public async Task RemoveImage_InUse_ReturnsFalse()
    {
        // An image of its own (one tag): untagging one of several tags is allowed even while a container uses the image.
        var reference = $"berth-test/in-use:{engine.RunId}";
        var context = Directory.CreateTempSubdirectory("berth-build-");
        await File.WriteAllTextAsync(Path.Combine(context.FullName, "Dockerfile"), $"FROM {engine.Image}\nLABEL berth.test-run={engine.RunId}\n");
        await Docker("build", "-q", "-t", reference, context.FullName);
        context.Delete(recursive: true);
        var id = await engine.Runtime.CreateContainerAsync(new ContainerCreateSpec { Name = Name("inuse"), Image = reference, Labels = engine.Labels, Command = ["true"] }, CancellationToken.None);

        Assert.False(await engine.Runtime.RemoveImageAsync(reference, CancellationToken.None));
        await engine.Runtime.RemoveContainerAsync(id, CancellationToken.None);
        Assert.True(await engine.Runtime.RemoveImageAsync(reference, CancellationToken.None));
        Assert.Contains(await engine.Runtime.ListImagesAsync(CancellationToken.None), i => i.RepoTags.Contains(engine.Image));
    }

    [Fact]
    public void SplitReference_DefaultsToLatest_AndKeepsRegistryPorts()
    {
        Assert.Equal(("127.0.0.1:5000/a/b", "latest"), DockerContainerRuntime.SplitReference("127.0.0.1:5000/a/b"));
        Assert.Equal(("127.0.0.1:5000/a/b", "v2"), DockerContainerRuntime.SplitReference("127.0.0.1:5000/a/b:v2"));
        Assert.Equal(("a/b", "sha256:abc"), DockerContainerRuntime.SplitReference("a/b@sha256:abc"));
    }

    private static string Name(string what) => $"berth-test-{what}-{Guid.NewGuid().ToString("N")[..8]}";

    private Dictionary<string, string> Labels(params (string Key, string Value)[] extra)
    {
        var labels = engine.Labels.ToDictionary();
        foreach (var (k, v) in extra)
        {
            labels[k] = v;
        }

        return labels;
    }

    private async Task<string> RunAsync(string what, string script, params (string Key, string Value)[] labels)
    {
        var id = await engine.Runtime.CreateContainerAsync(new ContainerCreateSpec
        {
            Name = Name(what),
            Image = engine.Image,
            Labels = Labels(labels),
            EntryPoint = ["sh", "-c"],
            Command = [script],
        }, CancellationToken.None).WithTimeout(s_step);
        await engine.Runtime.StartContainerAsync(id, CancellationToken.None).WithTimeout(s_step);
        return id;
    }

    private async Task<string> Docker(params string[] args) =>
        (await ProcessRunner.RunAsync("docker", args, s_step, log: output.WriteLine)).EnsureSuccess("docker " + args[0]).StandardOutput;

    private static async Task<string> TryReadAsync(int port)
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync("127.0.0.1", port);
            var buffer = new byte[64];
            using var cts = new CancellationTokenSource(1000);
            var n = await client.GetStream().ReadAsync(buffer, cts.Token);
            return Encoding.ASCII.GetString(buffer, 0, n);
        }
        catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException)
        {
            return string.Empty;
        }
    }
}

internal sealed class SyncProgress<T>(Action<T> handler) : IProgress<T>
{
    public void Report(T value)
    {
        lock (this)
        {
            handler(value);
        }
    }
}
