using System.Collections.Concurrent;
using Berth.Agent.Tasks;
using Berth.Agent.Tests.Deploy;
using Berth.Scheduler.V1;
using Berth.TestSupport;
using Grpc.Core;
using Grpc.Net.Client;
using Xunit.Abstractions;

namespace Berth.Agent.Tests.Sessions;

/// <summary>
/// The real scheduler and agent processes (and, when a test needs one, the real Berth registry) on this host, talking
/// over real sockets, with the agent on the real engine under a scope of its own. Every line the processes print goes
/// to the test log and is kept in <see cref="Output"/> (tests check that no secret is ever printed).
/// </summary>
internal sealed class LocalPlatform
{
    public const string Cluster = "e2e";

    private readonly EngineFixture _engine;
    private readonly ITestOutputHelper _output;
    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("berth-e2e-");
    private readonly List<ServiceProcess> _processes = [];
    private readonly HashSet<string> _scopes = [];
    private GrpcChannel? _channel;

    public LocalPlatform(EngineFixture engine, ITestOutputHelper output)
    {
        _engine = engine;
        _output = output;
    }

    public string Scope { get; } = "e2e-" + Guid.NewGuid().ToString("N")[..10];

    public int SchedulerPort { get; } = TestPorts.Next();

    public string WorkDirectory => _work.FullName;

    public string SchedulerData => Path.Combine(_work.FullName, "scheduler");

    public string AgentState => Path.Combine(_work.FullName, "agent");

    /// <summary>The <c>berth.agent</c> label value of the agent started as <paramref name="name"/>.</summary>
    public string ScopeOf(string name) => name == "agent" ? Scope : $"{Scope}-{name}";

    /// <summary>Every line the platform's processes printed so far.</summary>
    public ConcurrentQueue<string> Output { get; } = new();

    public GrpcChannel Channel => _channel ??= GrpcChannel.ForAddress($"http://127.0.0.1:{SchedulerPort}");

    public Metadata Admin { get; private set; } = [];

    public string JoinToken { get; private set; } = string.Empty;

    public Scheduler.V1.Tasks.TasksClient Tasks => new(Channel);

    public ContainerInstances.ContainerInstancesClient Instances => new(Channel);

    public TaskDefinitions.TaskDefinitionsClient TaskDefinitions => new(Channel);

    public ServiceProcess StartScheduler(params string[] extra)
    {
        var p = ServiceProcess.Start("scheduler", Binary("Scheduler", "Berth.Scheduler.dll"),
            ["--urls", $"http://127.0.0.1:{SchedulerPort}", "--data-dir", SchedulerData, "--Scheduler:HeartbeatInterval", "00:00:01", .. extra], Log);
        _processes.Add(p);
        return p;
    }

    /// <summary>Waits for the token files of a started scheduler.</summary>
    public async Task ReadTokensAsync()
    {
        Admin = new Metadata { { "authorization", "Bearer " + await WaitForFileAsync(Path.Combine(SchedulerData, "admin-token")) } };
        JoinToken = await WaitForFileAsync(Path.Combine(SchedulerData, "join-token"));
    }

    /// <summary>Starts the agent; with the join token on its first start, without it when it resumes.</summary>
    /// <remarks>A second agent on this host is another <paramref name="name"/>: its own state dir and scope (<c>SCOPE-NAME</c>).</remarks>
    public ServiceProcess StartAgent(bool withJoinToken = true, string imagePullBehavior = "PreferCached", string name = "agent", params string[] extra)
    {
        var scope = ScopeOf(name);
        _scopes.Add(scope);
        List<string> args =
        [
            "--scheduler-url", $"http://127.0.0.1:{SchedulerPort}", "--cluster", Cluster, "--data-dir", Path.Combine(_work.FullName, name), "--scope", scope,
            "--image-pull-behavior", imagePullBehavior, "--ReconcileInterval", "00:00:02", "--ReservedMemory", "0",
            // Stopped tasks' containers go at once (their last lines are still saved): tests leave nothing behind.
            "--ImageCleanup:Enabled", "false", "--TaskCleanup:Wait", "00:00:00", "--Logging:LogLevel:Default", "Information", .. extra,
        ];
        if (withJoinToken)
        {
            args.AddRange(["--join-token", JoinToken]);
        }

        // A config path that does not exist would be an error; point it at an empty file instead of /etc/berth.
        var config = Path.Combine(_work.FullName, "agent.json");
        File.WriteAllText(config, "{}");
        args.AddRange(["--config", config]);
        var p = ServiceProcess.Start(name, Binary("Agent", "Berth.Agent"), args, Log);
        _processes.Add(p);
        return p;
    }

    /// <summary>The state directory of the agent started as <paramref name="name"/>.</summary>
    public string StateDirectoryOf(string name) => Path.Combine(_work.FullName, name);

    /// <summary>Starts the Berth registry with auth on and waits until it answers (401 on <c>/v2/</c>).</summary>
    public async Task<BerthRegistry> StartRegistryAsync()
    {
        var port = TestPorts.Next();
        var data = Path.Combine(_work.FullName, "registry");
        var p = ServiceProcess.Start("registry", Binary("Registry", "Berth.Registry.dll"), ["--urls", $"http://127.0.0.1:{port}", "--data-dir", data], Log);
        _processes.Add(p);
        var registry = new BerthRegistry(port, data);
        await registry.WaitUntilServingAsync();
        return registry;
    }

    public async Task<RegisterTaskDefinitionResponse> RegisterAsync(string json) =>
        await TaskDefinitions.RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest { TaskDefinitionJson = json }, Admin);

    /// <summary>Runs one copy of <paramref name="family"/> and returns its task id.</summary>
    public async Task<string> RunAsync(string family)
    {
        var run = await Tasks.RunTaskAsync(new RunTaskRequest { Cluster = Cluster, TaskDefinition = family, Count = 1 }, Admin);
        Assert.Empty(run.Failures);
        return Assert.Single(run.Tasks).TaskId;
    }

    public async Task<ContainerInstance> WaitForInstanceAsync(Func<ContainerInstance, bool> condition, TimeSpan? timeout = null) =>
        (await WaitForInstancesAsync(all => all.Any(condition), timeout)).First(condition);

    /// <summary>Polls the cluster's instances until <paramref name="condition"/> holds for the whole list.</summary>
    public async Task<IReadOnlyList<ContainerInstance>> WaitForInstancesAsync(Func<IReadOnlyList<ContainerInstance>, bool> condition, TimeSpan? timeout = null)
    {
        IReadOnlyList<ContainerInstance> found = [];
        await TaskTimeouts.WaitUntilAsync(async () =>
        {
            try
            {
                var list = await Instances.ListContainerInstancesAsync(new ListContainerInstancesRequest { Cluster = Cluster }, Admin);
                if (list.ContainerInstanceArns.Count == 0)
                {
                    return false;
                }

                var described = await Instances.DescribeContainerInstancesAsync(new DescribeContainerInstancesRequest { Cluster = Cluster, ContainerInstances = { list.ContainerInstanceArns } }, Admin);
                found = described.ContainerInstances;
                return condition(found);
            }
            catch (RpcException)
            {
                return false;
            }
        }, timeout ?? TimeSpan.FromSeconds(60), "the container instances");
        return found;
    }

    public async Task<TaskInfo> WaitForTaskAsync(string taskId, Func<TaskInfo, bool> condition, TimeSpan? timeout = null)
    {
        TaskInfo? last = null;
        try
        {
            await TaskTimeouts.WaitUntilAsync(async () =>
            {
                try
                {
                    last = (await Tasks.DescribeTasksAsync(new DescribeTasksRequest { Cluster = Cluster, Tasks = { taskId } }, Admin)).Tasks.FirstOrDefault();
                    return last is not null && condition(last);
                }
                catch (RpcException)
                {
                    return false;
                }
            }, timeout ?? TimeSpan.FromSeconds(60), "the task");
        }
        catch (TimeoutException)
        {
            _output.WriteLine($"last seen: {last}");
            throw;
        }

        return last!;
    }

    /// <summary>Kills the processes, removes the scope's containers and the work directory (the test class's DisposeAsync calls it).</summary>
    public async Task StopAsync()
    {
        foreach (var p in _processes)
        {
            await p.DisposeAsync();
        }

        _channel?.Dispose();
        foreach (var scope in _scopes)
        {
            foreach (var c in await _engine.Runtime.ListContainersAsync(new Dictionary<string, string> { [ContainerLabels.Agent] = scope }, CancellationToken.None))
            {
                await _engine.Runtime.RemoveContainerAsync(c.Id, CancellationToken.None);
            }
        }

        _work.Delete(recursive: true);
    }

    private void Log(string line)
    {
        Output.Enqueue(line);
        _output.WriteLine(line);
    }

    private static string Binary(string project, string file)
    {
        var configuration = AppContext.BaseDirectory.Contains("/Release/", StringComparison.Ordinal) ? "Release" : "Debug";
        var path = Path.Combine(InstallScriptTests.RepositoryRoot(), "src", project, "bin", configuration, "net10.0", file);
        Assert.True(File.Exists(path), $"{path} is missing: build Platform.sln first");
        return path;
    }

    private static async Task<string> WaitForFileAsync(string path)
    {
        await TaskTimeouts.WaitUntilAsync(() => Task.FromResult(File.Exists(path) && new FileInfo(path).Length > 0), TimeSpan.FromSeconds(60), path);
        return (await File.ReadAllTextAsync(path)).Trim();
    }
}
