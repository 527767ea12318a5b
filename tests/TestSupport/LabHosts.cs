namespace Berth.TestSupport;

/// <summary>One lab host: a network namespace with its own address and its own Docker engine.</summary>
/// <param name="Number">1-based host number.</param>
/// <param name="Namespace">The network namespace (<c>berth-lab-ID-hN</c>).</param>
/// <param name="Address">The host's address on the lab bridge (10.231.NET.(10+N)).</param>
/// <param name="DockerHost">The engine's endpoint, for DOCKER_HOST or an agent's DockerEndpoint.</param>
public sealed record LabHost(int Number, string Namespace, string Address, string DockerHost);

/// <summary>
/// Several hosts on this machine (lab/up.sh): network namespaces joined by a bridge in a switch namespace, each
/// with its own dockerd, plus a leg into the root namespace at <see cref="RootAddress"/> where a scheduler or
/// registry started by the test listens. Disposing tears it all down (lab/down.sh). Needs root.
/// </summary>
public sealed class LabHosts : IAsyncDisposable
{
    private readonly Dictionary<string, string> _env;
    private readonly string _scripts;
    private readonly Action<string>? _log;

    private LabHosts(string id, int net, string scripts, IReadOnlyList<LabHost> hosts, Action<string>? log)
    {
        Id = id;
        Net = net;
        _scripts = scripts;
        _log = log;
        Hosts = hosts;
        _env = new() { ["LAB_ID"] = id, ["LAB_NET"] = net.ToString(System.Globalization.CultureInfo.InvariantCulture) };
    }

    /// <summary>The lab's id (part of every name it creates).</summary>
    public string Id { get; }

    /// <summary>The third octet of the lab's 10.231.x.0/24 subnet.</summary>
    public int Net { get; }

    public IReadOnlyList<LabHost> Hosts { get; }

    /// <summary>The root namespace's address on the lab bridge: listen here to be reachable from every host.</summary>
    public string RootAddress => $"10.231.{Net}.254";

    /// <summary>Creates <paramref name="count"/> hosts and starts their engines.</summary>
    public static async Task<LabHosts> StartAsync(int count, Action<string>? log = null)
    {
        var scripts = Path.Combine(RepositoryRoot(), "lab");
        var id = Guid.NewGuid().ToString("N")[..4];
        var net = await FreeSubnetAsync();
        var env = new Dictionary<string, string> { ["LAB_ID"] = id, ["LAB_NET"] = net.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        var up = await ProcessRunner.RunAsync(Path.Combine(scripts, "up.sh"), [count.ToString(System.Globalization.CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(90), environment: env, log: log);
        if (up.ExitCode != 0)
        {
            await ProcessRunner.RunAsync(Path.Combine(scripts, "down.sh"), [], TimeSpan.FromSeconds(90), environment: env, log: log);
            up.EnsureSuccess("lab/up.sh");
        }

        var hosts = up.StandardOutput
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(l => l.StartsWith("host ", StringComparison.Ordinal))
            .Select(l => l.Split(' '))
            .Select(p => new LabHost(int.Parse(p[1], System.Globalization.CultureInfo.InvariantCulture), p[2], p[3], p[4]))
            .ToList();
        return new LabHosts(id, net, scripts, hosts, log);
    }

    /// <summary>Stops a host's engine gracefully (SIGTERM by pid file; its containers die).</summary>
    public Task StopEngineAsync(LabHost host) => EngineAsync("stop", host);

    /// <summary>Kills a host's engine (SIGKILL), as a crash would.</summary>
    public Task KillEngineAsync(LabHost host) => EngineAsync("kill", host);

    /// <summary>Starts a host's engine and waits until it answers.</summary>
    public Task StartEngineAsync(LabHost host) => EngineAsync("start", host);

    /// <summary>Runs a program inside a host's network namespace.</summary>
    public Task<ProcessResult> ExecAsync(LabHost host, string fileName, IEnumerable<string> arguments, TimeSpan? timeout = null, IDictionary<string, string>? environment = null) =>
        ProcessRunner.RunAsync("nsenter", [$"--net=/var/run/netns/{host.Namespace}", fileName, .. arguments], timeout, environment: environment, log: _log);

    /// <summary>Runs the docker CLI against a host's engine.</summary>
    public Task<ProcessResult> DockerAsync(LabHost host, params string[] arguments) =>
        ProcessRunner.RunAsync("docker", arguments, TimeSpan.FromSeconds(90), environment: new Dictionary<string, string> { ["DOCKER_HOST"] = host.DockerHost }, log: _log);

    public async ValueTask DisposeAsync() =>
        (await ProcessRunner.RunAsync(Path.Combine(_scripts, "down.sh"), [], TimeSpan.FromSeconds(120), environment: _env, log: _log)).EnsureSuccess("lab/down.sh");

    private async Task EngineAsync(string action, LabHost host) =>
        (await ProcessRunner.RunAsync(Path.Combine(_scripts, "engine.sh"), [action, host.Number.ToString(System.Globalization.CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(90), environment: _env, log: _log))
            .EnsureSuccess($"lab/engine.sh {action}");

    /// <summary>A 10.231.x.0/24 no other lab on this machine uses.</summary>
    public static async Task<int> FreeSubnetAsync()
    {
        var addresses = (await ProcessRunner.RunAsync("ip", ["-o", "-4", "addr", "show"])).EnsureSuccess("ip addr").StandardOutput;
        var start = Random.Shared.Next(1, 250);
        for (var i = 0; i < 250; i++)
        {
            var net = ((start + i) % 250) + 1;
            if (!addresses.Contains($" 10.231.{net}.", StringComparison.Ordinal))
            {
                return net;
            }
        }

        throw new InvalidOperationException("No free 10.231.x.0/24 for a lab.");
    }

    /// <summary>The repository checkout this code runs from (the directory holding Platform.sln).</summary>
    public static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Platform.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("Platform.sln not found above " + AppContext.BaseDirectory);
    }
}
