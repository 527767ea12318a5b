using Berth.Scheduler.Provisioning;
using Berth.TestSupport;
using Xunit.Abstractions;

namespace Berth.Scheduler.Tests.Provisioning;

/// <summary>The lab provisioner on real namespaces, engines and agents, against the real scheduler process.</summary>
[Trait("Category", "System")]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class LabHostProvisionerTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Create_AgentRegistersWithTheScheduler_Destroy_LeavesNothingBehind()
    {
        await using var lab = await LabProvisionerFixture.StartAsync(output.WriteLine);
        var provisioner = lab.Provisioner();

        var host = await provisioner.CreateAsync(lab.Request("web-1", zone: "b"), CancellationToken.None).WithTimeout(TimeSpan.FromMinutes(4));

        Assert.Equal(ProvisionedHostState.Running, host.State);
        Assert.StartsWith($"10.231.{lab.Options.Lab.Net}.", host.Address, StringComparison.Ordinal);
        var instance = Assert.Single(await lab.InstancesAsync());
        Assert.Equal(host.ContainerInstanceArn, instance.ContainerInstanceArn);
        Assert.Contains(instance.Attributes, a => a.Name == HostRequest.HostNameAttribute && a.Value == "web-1");
        Assert.Contains(instance.Attributes, a => a.Name == "berth.zone" && a.Value == "b");
        await TaskTimeouts.WaitUntilAsync(async () => (await lab.InstancesAsync()).Single().AgentConnected, TimeSpan.FromSeconds(60), "the agent's session");

        // Something for destroy to clear: a container on the host's own engine.
        var dir = Path.Combine(lab.LabDirectory, "h1");
        var dockerHost = $"unix://{dir}/docker.sock";
        await TestImages.EnsureBusyboxAsync(dockerHost, output.WriteLine);
        (await ProcessRunner.RunAsync("docker", ["run", "-d", TestImages.Busybox, "sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait"], TimeSpan.FromSeconds(90),
            environment: new Dictionary<string, string> { ["DOCKER_HOST"] = dockerHost }, log: output.WriteLine)).EnsureSuccess("docker run on the host");
        var agentPid = int.Parse(await File.ReadAllTextAsync(Path.Combine(dir, "agent.pid")), System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(Directory.Exists($"/proc/{agentPid}"));

        await provisioner.DestroyAsync("web-1", CancellationToken.None).WithTimeout(TimeSpan.FromMinutes(3));

        Assert.Empty(await provisioner.ListAsync(CancellationToken.None).WithTimeout());
        Assert.False(Directory.Exists(dir));
        Assert.False(Directory.Exists($"/proc/{agentPid}"));
        var ns = host.ProviderId;
        Assert.Equal($"berth-lab-{lab.Options.Lab.Id}-h1", ns);
        Assert.DoesNotContain(ns, (await ProcessRunner.RunAsync("ip", ["netns", "list"])).StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain(dir + "/", await File.ReadAllTextAsync("/proc/mounts"), StringComparison.Ordinal);
        Assert.Empty(ProcessesMentioning(dir));
        Assert.DoesNotContain(Directory.GetDirectories("/sys/fs/cgroup"), c => Directory.Exists(Path.Combine(c, ns)));

        // Idempotent: destroying it again is not an error.
        await provisioner.DestroyAsync("web-1", CancellationToken.None).WithTimeout();
    }

    [Fact]
    public async Task List_AfterARestart_FindsTheRunningHostAndTheHalfMadeOne_OrphanCollectionClearsTheHalfMadeOne()
    {
        await using var lab = await LabProvisionerFixture.StartAsync(output.WriteLine);
        var running = await lab.Provisioner().CreateAsync(lab.Request("web-1"), CancellationToken.None).WithTimeout(TimeSpan.FromMinutes(4));

        // A host whose agent dies before it registers: the create fails with the agent's own words and leaves the host half-made.
        var fakeAgent = Path.Combine(lab.LabDirectory, "..", "Berth.Agent.broken");
        await File.WriteAllTextAsync(fakeAgent, "#!/bin/sh\necho 'agent: cannot read the configuration' >&2\nexit 1\n");
        File.SetUnixFileMode(fakeAgent, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var realAgent = lab.Options.Lab.AgentPath;
        lab.Options.Lab.AgentPath = fakeAgent;
        var e = await Assert.ThrowsAsync<ProvisionerException>(() => lab.Provisioner().CreateAsync(lab.Request("web-2"), CancellationToken.None)).WithTimeout(TimeSpan.FromMinutes(4));
        lab.Options.Lab.AgentPath = realAgent;
        Assert.Contains("cannot read the configuration", e.Output, StringComparison.Ordinal);
        Assert.Contains("exited before it registered", e.Output, StringComparison.Ordinal);

        // A restarted scheduler has a new provisioner object and nothing in memory: the lab's disk and namespaces tell it all.
        var restarted = lab.Caller();
        var hosts = await restarted.Provisioner.ListAsync(CancellationToken.None).WithTimeout();
        Assert.Equal(
            [("web-1", ProvisionedHostState.Running, running.ContainerInstanceArn), ("web-2", ProvisionedHostState.Failed, "")],
            hosts.OrderBy(h => h.Name, StringComparer.Ordinal).Select(h => (h.Name, h.State, h.ContainerInstanceArn)));

        var destroyed = await restarted.CollectOrphansAsync(h => h.State == ProvisionedHostState.Running, CancellationToken.None).WithTimeout(TimeSpan.FromMinutes(3));

        Assert.Equal(["web-2"], destroyed);
        var left = Assert.Single(await restarted.Provisioner.ListAsync(CancellationToken.None).WithTimeout());
        Assert.Equal(("web-1", ProvisionedHostState.Running), (left.Name, left.State));
        Assert.True((await lab.InstancesAsync()).Single().AgentConnected);
    }

    [Fact]
    public async Task Create_TakenName_IsRefused_AndTheExistingHostIsUnharmed()
    {
        await using var lab = await LabProvisionerFixture.StartAsync(output.WriteLine);
        var provisioner = lab.Provisioner();
        await provisioner.CreateAsync(lab.Request("web-1"), CancellationToken.None).WithTimeout(TimeSpan.FromMinutes(4));

        var e = await Assert.ThrowsAsync<ProvisionerException>(() => provisioner.CreateAsync(lab.Request("web-1", zone: "c"), CancellationToken.None)).WithTimeout();

        Assert.Contains("exists already", e.Output, StringComparison.Ordinal);
        var host = Assert.Single(await provisioner.ListAsync(CancellationToken.None).WithTimeout());
        Assert.Equal(ProvisionedHostState.Running, host.State);
    }

    [Fact]
    public async Task ExecProvisioner_WithTheLabWorkedExample_MakesAHostThatRegisters_AndDestroysIt()
    {
        await using var lab = await LabProvisionerFixture.StartAsync(output.WriteLine);
        var example = Path.Combine(LabHosts.RepositoryRoot(), "deploy", "provisioners", "lab-netns");
        var options = lab.Options;
        options.Kind = "exec";
        options.Exec.CreateScript = Path.Combine(example, "create");
        options.Exec.DestroyScript = Path.Combine(example, "destroy");
        options.Exec.ListScript = Path.Combine(example, "list");
        options.Exec.Environment["BERTH_LAB_ID"] = options.Lab.Id;
        options.Exec.Environment["BERTH_LAB_NET"] = options.Lab.Net.ToString(System.Globalization.CultureInfo.InvariantCulture);
        options.Exec.Environment["BERTH_LAB_DIR"] = options.Lab.DataDirectory!;
        options.Exec.Environment["BERTH_AGENT"] = options.Lab.AgentPath!;
        Assert.True(new ProvisioningOptionsValidator().Validate(null, options).Succeeded);
        var exec = new Berth.Scheduler.Provisioning.Exec.ExecHostProvisioner(Microsoft.Extensions.Options.Options.Create(options), TimeProvider.System,
            Microsoft.Extensions.Logging.Abstractions.NullLogger<Berth.Scheduler.Provisioning.Exec.ExecHostProvisioner>.Instance);
        var request = lab.Request("exec-1", zone: "c") with { Attributes = new Dictionary<string, string> { ["pool"] = "fargate" } };

        var host = await exec.CreateAsync(request, CancellationToken.None).WithTimeout(TimeSpan.FromMinutes(4));

        var instance = Assert.Single(await lab.InstancesAsync());
        Assert.Equal(host.ContainerInstanceArn, instance.ContainerInstanceArn);
        Assert.Contains(instance.Attributes, a => a.Name == HostRequest.HostNameAttribute && a.Value == "exec-1");
        Assert.Contains(instance.Attributes, a => a.Name == "pool" && a.Value == "fargate");
        Assert.Contains(instance.Attributes, a => a.Name == "berth.zone" && a.Value == "c");
        Assert.Equal(ProvisionedHostState.Running, Assert.Single(await exec.ListAsync(CancellationToken.None).WithTimeout()).State);

        await exec.DestroyAsync("exec-1", CancellationToken.None).WithTimeout(TimeSpan.FromMinutes(3));

        Assert.Empty(await exec.ListAsync(CancellationToken.None).WithTimeout());
        await exec.DestroyAsync("exec-1", CancellationToken.None).WithTimeout();
    }

    /// <summary>Processes whose command line names <paramref name="path"/> (an agent, a dockerd, containerd and its shims).</summary>
    private static List<string> ProcessesMentioning(string path) =>
        [.. Directory.GetDirectories("/proc")
            .Where(d => int.TryParse(Path.GetFileName(d), out _))
            .Select(d =>
            {
                try
                {
                    return File.ReadAllText(Path.Combine(d, "cmdline")).Replace('\0', ' ');
                }
                catch (IOException)
                {
                    return "";
                }
                catch (UnauthorizedAccessException)
                {
                    return "";
                }
            })
            .Where(c => c.Contains(path, StringComparison.Ordinal))];
}
