using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Berth.TestSupport;
using DotNet.Testcontainers.Builders;
using DotNet.Testcontainers.Configurations;
using DotNet.Testcontainers.Containers;
using DotNet.Testcontainers.Images;

namespace Berth.Scheduler.Tests.Provisioning;

/// <summary>
/// A Debian machine whose PID 1 is systemd, as a container (Testcontainers): the stand-in for a VM that
/// deploy/agent/install.sh installs an agent on. The image (test/debian-systemd:1) is built by
/// deploy/provisioners/systemd-container/build-image.sh (debootstrap) only when missing. The machine reaches the
/// host's Docker engine through its socket, bound at <see cref="DockerSocket"/>; see docs/provisioning.md for why.
/// </summary>
internal sealed class SystemdMachine : IAsyncDisposable
{
    public const string Image = "test/debian-systemd:1";

    /// <summary>The same machine with its own Docker engine (Debian's docker.io): what the systemd-container provisioner boots.</summary>
    public const string EngineImage = "test/debian-systemd-docker:1";

    /// <summary>Where the host engine's socket appears inside the machine (not under /run, which is a tmpfs there).</summary>
    public const string DockerSocket = "/mnt/docker.sock";

    private static readonly SemaphoreSlim s_imageGate = new(1, 1);
    private static readonly SemaphoreSlim s_publishGate = new(1, 1);
    private static string? s_publishedAgent;
    private readonly IContainer _container;
    private readonly Action<string> _log;

    private SystemdMachine(IContainer container, Action<string> log)
    {
        _container = container;
        _log = log;
    }

    /// <summary>Builds the image if missing, boots the machine and waits until systemd says it is up.</summary>
    /// <param name="mounts">Host folders to show read-only inside (host path, machine path).</param>
    public static async Task<SystemdMachine> StartAsync(IEnumerable<(string Host, string Machine)> mounts, Action<string> log)
    {
        // Testcontainers against this engine (docs: ENVIRONMENT): API 1.41, no Ryuk, the host as 127.0.0.1.
        Environment.SetEnvironmentVariable("DOCKER_API_VERSION", "1.41");
        Environment.SetEnvironmentVariable("TESTCONTAINERS_RYUK_DISABLED", "true");
        Environment.SetEnvironmentVariable("TESTCONTAINERS_HOST_OVERRIDE", "127.0.0.1");
        await EnsureImageAsync(log);

        var builder = new ContainerBuilder(Image)
            .WithImagePullPolicy(PullPolicy.Never)
            .WithAutoRemove(true)
            .WithCleanUp(true)
            .WithName("berth-systemd-" + Guid.NewGuid().ToString("N")[..8])
            .WithCommand("/sbin/init")
            .WithEnvironment("container", "docker")
            .WithBindMount("/sys/fs/cgroup", "/sys/fs/cgroup", AccessMode.ReadOnly)
            .WithBindMount("/var/run/docker.sock", DockerSocket, AccessMode.ReadWrite)
            // --privileged fails on this engine ("unable to apply caps"); systemd needs SYS_ADMIN for its mounts.
            .WithCreateParameterModifier(p =>
            {
                var host = p.HostConfig ?? throw new InvalidOperationException("Testcontainers made no HostConfig");
                host.CapAdd = ["SYS_ADMIN"];
                host.SecurityOpt = ["seccomp=unconfined"];
                host.Tmpfs = new Dictionary<string, string> { ["/run"] = "", ["/run/lock"] = "", ["/tmp"] = "" };
            });
        foreach (var (host, machine) in mounts)
        {
            builder = builder.WithBindMount(host, machine, AccessMode.ReadOnly);
        }

        var container = builder.Build();
        await container.StartAsync().WithTimeout(TimeSpan.FromMinutes(2));
        var machineInstance = new SystemdMachine(container, log);
        try
        {
            // systemd's bus appears a moment after PID 1 starts ("Failed to connect to bus" until then); `--wait` then
            // blocks until boot finishes. Degraded (a unit this container cannot run) still means systemd is up.
            var state = "";
            await TaskTimeouts.WaitUntilAsync(async () =>
            {
                state = (await machineInstance.ExecAsync("systemctl", "is-system-running", "--wait")).Stdout.Trim();
                return state is "running" or "degraded";
            }, TimeSpan.FromSeconds(120), "systemd in the machine to finish booting");
            log($"systemd: {state}");
        }
        catch
        {
            await machineInstance.DisposeAsync();
            throw;
        }

        return machineInstance;
    }

    /// <summary>Runs a command in the machine (as root) and returns its result.</summary>
    public async Task<ExecResult> ExecAsync(params string[] command)
    {
        var result = await _container.ExecAsync(command).WithTimeout(TimeSpan.FromMinutes(3));
        _log($"# {string.Join(' ', command)} -> {result.ExitCode}\n{result.Stdout}{result.Stderr}");
        return result;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            // The agent's journal says what happened, pass or fail.
            await ExecAsync("journalctl", "-u", "berth-agent", "--no-pager", "-n", "60");
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _log("journal: " + e.Message);
        }

        await _container.DisposeAsync();
    }

    /// <summary>
    /// The default bridge's gateway: the IPAM entry when the engine records one, else the bridge interface's own IPv4
    /// address (Debian's engine 20.10 lists only the subnet for a docker0 it found already configured).
    /// </summary>
    public static async Task<string> BridgeGatewayAsync()
    {
        var inspect = (await ProcessRunner.RunAsync("docker", ["network", "inspect", "bridge", "--format",
            "{{range .IPAM.Config}}{{.Gateway}} {{end}}|{{index .Options \"com.docker.network.bridge.name\"}}"])).EnsureSuccess("docker network inspect").StandardOutput.Trim();
        var parts = inspect.Split('|');
        var recorded = parts[0].Split(' ', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault(a => IPAddress.TryParse(a, out var ip) && ip.AddressFamily == AddressFamily.InterNetwork);
        if (recorded is not null)
        {
            return recorded;
        }

        var bridge = parts.Length > 1 && parts[1].Length > 0 ? parts[1] : "docker0";
        var address = NetworkInterface.GetAllNetworkInterfaces().SingleOrDefault(n => n.Name == bridge)?
            .GetIPProperties().UnicastAddresses.Select(u => u.Address).FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork);
        return address?.ToString() ?? throw new InvalidOperationException($"The engine's bridge '{bridge}' has no IPv4 address (docker network inspect: '{inspect}').");
    }

    /// <summary>
    /// The agent published self-contained for linux-x64 (what install.sh installs on a VM), once per test process: the
    /// systemd tests share it, and a publish takes minutes on a loaded machine. The folder is kept between runs (per
    /// checkout, under the temp directory), so a later run's publish only copies what changed. Read-only to its users.
    /// </summary>
    public static async Task<string> PublishedAgentAsync(Action<string> log)
    {
        await s_publishGate.WaitAsync();
        try
        {
            if (s_publishedAgent is null)
            {
                var repo = LabHosts.RepositoryRoot();
                var checkout = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(repo)))[..12];
                var publish = Path.Combine(Path.GetTempPath(), "berth-test-agent-" + checkout.ToLowerInvariant());
                (await ProcessRunner.RunAsync("dotnet", ["publish", Path.Combine(repo, "src/Agent/Berth.Agent.csproj"), "-c", "Release", "-r", "linux-x64", "--self-contained", "-o", publish, "-nologo", "-clp:ErrorsOnly"],
                    TimeSpan.FromMinutes(15), log: log)).EnsureSuccess("dotnet publish the agent");
                s_publishedAgent = publish;
            }

            return s_publishedAgent;
        }
        finally
        {
            s_publishGate.Release();
        }
    }

    /// <summary>
    /// Builds <see cref="Image"/> (or, <paramref name="withEngine"/>, <see cref="EngineImage"/> on top of it) unless it
    /// exists: debootstrap takes ~80 s idle and far longer under load, so nothing else should be waiting on a deadline.
    /// </summary>
    public static async Task EnsureImageAsync(Action<string> log, bool withEngine = false)
    {
        await s_imageGate.WaitAsync();
        try
        {
            var script = Path.Combine(LabHosts.RepositoryRoot(), "deploy", "provisioners", "systemd-container", "build-image.sh");
            string[] arguments = withEngine ? [script, "--with-engine", EngineImage] : [script, Image];
            (await ProcessRunner.RunAsync("bash", arguments, TimeSpan.FromMinutes(20), log: log)).EnsureSuccess("build-image.sh");
        }
        finally
        {
            s_imageGate.Release();
        }
    }
}
