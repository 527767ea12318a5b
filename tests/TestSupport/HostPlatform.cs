using Berth.Scheduler.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace Berth.TestSupport;

/// <summary>
/// The platform on this one host, for benchmarks that measure real processes without network namespaces: the real
/// scheduler on a free loopback port, the real agent on the default engine under a scope of its own (so it never
/// touches another run's containers), and, when asked, the real registry. Each process is the build output of its
/// project in the configuration asked for (Release by default); every line they print goes to <see cref="Log"/>. Disposing kills the
/// processes (by their own ids), removes the scope's containers and the work directory.
/// </summary>
public sealed class HostPlatform : IAsyncDisposable
{
    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("berth-hostplatform-");
    private readonly List<ServiceProcess> _processes = [];
    private readonly string _configuration;
    private GrpcChannel? _channel;
    private string _joinToken = "";
    private string _adminToken = "";

    private HostPlatform(string cluster, string configuration, Action<string>? log)
    {
        Cluster = cluster;
        _configuration = configuration;
        Log = log;
    }

    /// <summary>The cluster the agent joins.</summary>
    public string Cluster { get; }

    /// <summary>The agent's <c>berth.agent</c> label value: its containers, and no one else's.</summary>
    public string Scope { get; } = "hostplatform-" + Guid.NewGuid().ToString("N")[..10];

    /// <summary>Where process output goes (each line prefixed with the time and the process's name).</summary>
    public Action<string>? Log { get; set; }

    public string WorkDirectory => _work.FullName;

    public string SchedulerUrl { get; private set; } = "";

    /// <summary>The scheduler's admin token (for a CLI run against it: <c>BERTH_TOKEN</c>).</summary>
    public string AdminToken => _adminToken;

    public ServiceProcess Scheduler { get; private set; } = null!;

    public ServiceProcess Agent { get; private set; } = null!;

    /// <summary>The registry (auth on), when <see cref="StartRegistryAsync"/> started one.</summary>
    public ServiceProcess? Registry { get; private set; }

    /// <summary>The registry's <c>host:port</c> (the prefix of its image references).</summary>
    public string RegistryHost { get; private set; } = "";

    /// <summary>Admin call options with a 30 s deadline.</summary>
    public CallOptions Admin => new(new Metadata { { "authorization", "Bearer " + _adminToken } }, DateTime.UtcNow.AddSeconds(30));

    public Berth.Scheduler.V1.Services.ServicesClient Services => new(Channel);

    public Berth.Scheduler.V1.Tasks.TasksClient Tasks => new(Channel);

    public ContainerInstances.ContainerInstancesClient Instances => new(Channel);

    public TaskDefinitions.TaskDefinitionsClient TaskDefinitions => new(Channel);

    private GrpcChannel Channel => _channel ??= GrpcChannel.ForAddress(SchedulerUrl);

    /// <summary>
    /// Starts the scheduler and the agent and waits until the agent's instance is connected. <paramref name="schedulerArguments"/>
    /// and <paramref name="agentArguments"/> come after the defaults (a later option wins).
    /// </summary>
    public static async Task<HostPlatform> StartAsync(
        string cluster,
        Action<string>? log = null,
        IEnumerable<string>? schedulerArguments = null,
        IEnumerable<string>? agentArguments = null,
        string configuration = "Release")
    {
        var platform = new HostPlatform(cluster, configuration, log);
        try
        {
            await platform.StartSchedulerAsync(schedulerArguments ?? []);
            platform.StartAgent(agentArguments ?? []);
            await platform.WaitForConnectedAgentAsync();
        }
        catch
        {
            await platform.DisposeAsync();
            throw;
        }

        return platform;
    }

    /// <summary>Starts the registry (auth on, as shipped) and waits until it answers.</summary>
    public async Task StartRegistryAsync()
    {
        var port = TestPorts.Next();
        Registry = Start("registry", Binary("Registry", "Berth.Registry.dll"), ["--urls", $"http://127.0.0.1:{port}", "--data-dir", Path.Combine(_work.FullName, "registry")]);
        RegistryHost = $"127.0.0.1:{port}";
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        await TaskTimeouts.WaitUntilAsync(async () =>
        {
            try
            {
                // 401 with auth on: it serves.
                using var response = await http.GetAsync(new Uri($"http://{RegistryHost}/v2/"));
                return true;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(90), "the registry to answer");
    }

    /// <summary>The build output of <c>src/PROJECT</c> (<c>Berth.Scheduler.dll</c>, <c>Berth.Agent</c>, <c>berth</c>).</summary>
    public string Binary(string project, string file)
    {
        var path = Path.Combine(LabHosts.RepositoryRoot(), "src", project, "bin", _configuration, "net10.0", file);
        return File.Exists(path) ? path : throw new FileNotFoundException($"{path} is missing: build Platform.sln -c {_configuration} first", path);
    }

    private async Task StartSchedulerAsync(IEnumerable<string> extra)
    {
        SchedulerUrl = $"http://127.0.0.1:{TestPorts.Next()}";
        var data = Path.Combine(_work.FullName, "scheduler");
        Scheduler = Start("scheduler", Binary("Scheduler", "Berth.Scheduler.dll"),
            ["--urls", SchedulerUrl, "--data-dir", data, "--Logging:LogLevel:Microsoft.AspNetCore", "Warning", .. extra]);
        (_joinToken, _adminToken) = await SchedulerTokens.ReadAsync(data, TimeSpan.FromSeconds(90));
    }

    private void StartAgent(IEnumerable<string> extra)
    {
        // A config path that does not exist is an error: an empty file instead of /etc/berth.
        var config = Path.Combine(_work.FullName, "agent.json");
        File.WriteAllText(config, "{}");
        Agent = Start("agent", Binary("Agent", "Berth.Agent"),
        [
            "--config", config, "--scheduler-url", SchedulerUrl, "--join-token", _joinToken, "--cluster", Cluster,
            "--data-dir", Path.Combine(_work.FullName, "agent"), "--scope", Scope, "--ReservedMemory", "0",
            // Stopped tasks' containers go at once (their last lines are kept): the run leaves nothing behind.
            "--ImageCleanup:Enabled", "false", "--TaskCleanup:Wait", "00:00:00", .. extra,
        ]);
    }

    /// <summary>Waits until the cluster has one instance and its agent is connected.</summary>
    private async Task WaitForConnectedAgentAsync() =>
        await TaskTimeouts.WaitUntilAsync(async () =>
        {
            try
            {
                var list = await Instances.ListContainerInstancesAsync(new ListContainerInstancesRequest { Cluster = Cluster }, Admin);
                return list.ContainerInstanceArns.Count == 1
                    && (await Instances.DescribeContainerInstancesAsync(new DescribeContainerInstancesRequest { Cluster = Cluster, ContainerInstances = { list.ContainerInstanceArns } }, Admin)).ContainerInstances[0].AgentConnected;
            }
            catch (RpcException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(90), "the agent to connect");

    private ServiceProcess Start(string name, string fileName, IEnumerable<string> arguments)
    {
        var process = ServiceProcess.Start(name, fileName, arguments, line => Log?.Invoke(line));
        _processes.Add(process);
        return process;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var process in Enumerable.Reverse(_processes))
        {
            await process.DisposeAsync();
        }

        _channel?.Dispose();
        // The agent is gone: what its scope still has on the engine is the run's to remove.
        await AgentScopeContainers.RemoveAsync(Scope);

        _work.Delete(recursive: true);
    }
}
