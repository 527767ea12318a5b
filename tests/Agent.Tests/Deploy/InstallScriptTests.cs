using System.Text.Json;
using Berth.TestSupport;
using Xunit.Abstractions;

namespace Berth.Agent.Tests.Deploy;

/// <summary>deploy/agent/install.sh and uninstall.sh into a throwaway root (DESTDIR), as CI runs them.</summary>
public sealed class InstallScriptTests(ITestOutputHelper output) : IDisposable
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("berth-destdir-");

    [Fact]
    public async Task Install_PutsAgentConfigAndEnabledUnitInPlace_AndUninstallRemovesThem()
    {
        var repo = RepositoryRoot();
        var env = new Dictionary<string, string> { ["DESTDIR"] = _root.FullName };

        (await ProcessRunner.RunAsync(
            Path.Combine(repo, "deploy/agent/install.sh"),
            ["--from", AgentBuildOutput(repo), "--scheduler-url", "http://10.231.0.1:7070", "--join-token", "tok\"en", "--cluster", "lab", "--zone", "z1",
                "--attribute", "berth.host-name=web-1", "--attribute", "pool=fargate"],
            TimeSpan.FromSeconds(60), environment: env, log: output.WriteLine)).EnsureSuccess("install.sh");

        var binary = Path.Combine(_root.FullName, "opt/berth/agent/Berth.Agent");
        Assert.True(File.Exists(binary));
        Assert.True(File.GetUnixFileMode(binary).HasFlag(UnixFileMode.UserExecute));
        var config = Path.Combine(_root.FullName, "etc/berth/agent.json");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(config));
        using (var json = JsonDocument.Parse(await File.ReadAllTextAsync(config)))
        {
            Assert.Equal("http://10.231.0.1:7070", json.RootElement.GetProperty("SchedulerUrl").GetString());
            Assert.Equal("tok\"en", json.RootElement.GetProperty("JoinToken").GetString());
            Assert.Equal("lab", json.RootElement.GetProperty("Cluster").GetString());
            Assert.Equal("z1", json.RootElement.GetProperty("Zone").GetString());
            Assert.Equal("web-1", json.RootElement.GetProperty("Attributes").GetProperty("berth.host-name").GetString());
            Assert.Equal("fargate", json.RootElement.GetProperty("Attributes").GetProperty("pool").GetString());
        }

        var unit = Path.Combine(_root.FullName, "etc/systemd/system/berth-agent.service");
        var unitText = await File.ReadAllTextAsync(unit);
        Assert.Contains("Type=notify", unitText, StringComparison.Ordinal);
        Assert.Contains("Restart=on-failure", unitText, StringComparison.Ordinal);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.Combine(_root.FullName, "var/lib/berth/agent")));
        if (OnPath("systemctl"))
        {
            var wants = new FileInfo(Path.Combine(_root.FullName, "etc/systemd/system/multi-user.target.wants/berth-agent.service"));
            Assert.Equal("/etc/systemd/system/berth-agent.service", wants.LinkTarget);
        }

        if (OnPath("systemd-analyze"))
        {
            // --root resolves ExecStart inside the throwaway root; --recursive-errors=no because that root has no targets.
            (await ProcessRunner.RunAsync("systemd-analyze", ["verify", "--man=no", "--recursive-errors=no", $"--root={_root.FullName}", "/etc/systemd/system/berth-agent.service"], log: output.WriteLine))
                .EnsureSuccess("systemd-analyze verify");
        }
        else
        {
            output.WriteLine("systemd-analyze is not installed: the unit was not verified");
        }

        // The installed agent runs and reads its configuration (here it refuses a bad override, naming it).
        var run = await ProcessRunner.RunAsync(binary, ["--config", config, "--dynamic-port-first", "9", "--dynamic-port-last", "5"], TimeSpan.FromSeconds(30), log: output.WriteLine);
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("DynamicPortFirst (9) is above DynamicPortLast (5)", run.StandardOutput + run.StandardError, StringComparison.Ordinal);

        (await ProcessRunner.RunAsync(Path.Combine(repo, "deploy/agent/uninstall.sh"), ["--purge"], environment: env, log: output.WriteLine)).EnsureSuccess("uninstall.sh");
        Assert.False(File.Exists(binary));
        Assert.False(File.Exists(unit));
        Assert.False(File.Exists(config));
        Assert.False(Directory.Exists(Path.Combine(_root.FullName, "var/lib/berth/agent")));
    }

    [Fact]
    public async Task Install_WithoutSchedulerUrlOnAFreshRoot_Fails()
    {
        var repo = RepositoryRoot();
        var result = await ProcessRunner.RunAsync(
            Path.Combine(repo, "deploy/agent/install.sh"),
            ["--from", AgentBuildOutput(repo)],
            environment: new Dictionary<string, string> { ["DESTDIR"] = _root.FullName });

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("--scheduler-url is required", result.StandardError, StringComparison.Ordinal);
    }

    public void Dispose() => _root.Delete(recursive: true);

    internal static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Platform.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("Platform.sln not found above " + AppContext.BaseDirectory);
    }

    /// <summary>The agent's own build output (same configuration as this test): a runnable agent without a slow self-contained publish.</summary>
    private static string AgentBuildOutput(string repo)
    {
        var configuration = AppContext.BaseDirectory.Contains("/Release/", StringComparison.Ordinal) ? "Release" : "Debug";
        var dir = Path.Combine(repo, "src/Agent/bin", configuration, "net10.0");
        Assert.True(File.Exists(Path.Combine(dir, "Berth.Agent")), $"{dir}/Berth.Agent is missing");
        return dir;
    }

    private static bool OnPath(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':').Any(p => File.Exists(Path.Combine(p, tool)));
}
