using System.Globalization;
using Berth.Scheduler.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace Berth.TestSupport;

/// <summary>
/// The platform on four lab hosts, for the services system tests (issue 6) and bench/ServicesLab: the real scheduler
/// process on the lab's root leg (1 s heartbeats, a 5 s lost-host grace period), one real agent process in each of
/// the first three hosts' namespaces (zones a, b, c) driving that host's own engine, and a small HTTP image in two
/// revisions built offline into every engine, so nothing pulls. The fourth host (zone d) has an engine but no agent
/// until someone starts one. Needs root and the Release (or Debug) build of the scheduler and the agent.
/// </summary>
public sealed class LabPlatform : IAsyncDisposable
{
    /// <summary>The lost-host grace period the scheduler runs with.</summary>
    public static readonly TimeSpan LostHostGrace = TimeSpan.FromSeconds(5);

    /// <summary>The HTTP image, revision 1 and 2 (their index pages say "v1" and "v2").</summary>
    public static readonly string[] HttpImages = ["berth-test/httpd:1", "berth-test/httpd:2"];

    public const string Cluster = "lab";

    private static readonly string[] s_zones = ["a", "b", "c", "d"];
    private readonly Dictionary<int, ServiceProcess> _agents = [];
    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("berth-servicelab-");
    private ServiceProcess? _scheduler;
    private GrpcChannel? _channel;
    private string _joinToken = "";
    private string _adminToken = "";
    private string _agentConfig = "";

    /// <summary>Where process output goes: each test points it at its own output.</summary>
    public Action<string>? Log { get; set; }

    public LabHosts Lab { get; private set; } = null!;

    public string SchedulerUrl { get; private set; } = "";

    /// <summary>The scheduler process's id (for its CPU time in /proc).</summary>
    public int SchedulerProcessId => _scheduler?.Id ?? 0;

    public Berth.Scheduler.V1.Services.ServicesClient Services { get; private set; } = null!;

    public Berth.Scheduler.V1.Tasks.TasksClient Tasks { get; private set; } = null!;

    public ContainerInstances.ContainerInstancesClient Instances { get; private set; } = null!;

    public TaskDefinitions.TaskDefinitionsClient TaskDefinitions { get; private set; } = null!;

    public Berth.Scheduler.V1.LoadBalancing.LoadBalancingClient LoadBalancing { get; private set; } = null!;

    public ApplicationAutoScaling.ApplicationAutoScalingClient AutoScaling { get; private set; } = null!;

    public Berth.Scheduler.V1.Metrics.MetricsClient Metrics { get; private set; } = null!;

    public Berth.Scheduler.V1.SecurityGroups.SecurityGroupsClient SecurityGroups { get; private set; } = null!;

    /// <summary>
    /// Starts a balancer process (root namespace, listening on the lab's root address) for a load balancer, with a
    /// fresh credential; dispose it to stop it.
    /// </summary>
    public async Task<ServiceProcess> StartBalancerAsync(string loadBalancer, int adminPort)
    {
        var credential = (await LoadBalancing.CreateBalancerCredentialAsync(new CreateBalancerCredentialRequest { LoadBalancerArn = loadBalancer }, Admin)).Credential;
        var directory = Directory.CreateDirectory(Path.Combine(_work.FullName, "balancer-" + Guid.NewGuid().ToString("N")[..8]));
        var token = Path.Combine(directory.FullName, "token");
        await File.WriteAllTextAsync(token, credential);
        return ServiceProcess.Start("balancer", Binary("LoadBalancer", "Berth.LoadBalancer.dll"),
        [
            "--scheduler-url", SchedulerUrl, "--token-file", token, "--data-dir", Path.Combine(directory.FullName, "data"),
            "--listen-address", Lab.RootAddress, "--admin-url", $"http://127.0.0.1:{adminPort}",
            "--Logging:LogLevel:Default", "Warning",
        ], Write);
    }

    /// <summary>A free TCP port on the lab's root address (for a listener).</summary>
    public int FreeRootPort() => TestPorts.Next(Lab.RootAddress);

    /// <summary>Admin call options with a 30 s deadline.</summary>
    public CallOptions Admin => new(new Metadata { { "authorization", "Bearer " + _adminToken } }, DateTime.UtcNow.AddSeconds(30));

    /// <summary>Starts the lab, the scheduler and the first three agents; <paramref name="log"/> gets process output.</summary>
    public static async Task<LabPlatform> StartAsync(Action<string>? log = null)
    {
        var platform = new LabPlatform { Log = log };
        try
        {
            await platform.InitializeAsync();
        }
        catch
        {
            await platform.DisposeAsync();
            throw;
        }

        return platform;
    }

    private async Task InitializeAsync()
    {
        Lab = await LabHosts.StartAsync(4, Write);
        await Task.WhenAll(Lab.Hosts.Select(BuildImagesAsync));

        var port = TestPorts.Next(Lab.RootAddress);
        SchedulerUrl = $"http://{Lab.RootAddress}:{port}";
        StartScheduler();
        (_joinToken, _adminToken) = await SchedulerTokens.ReadAsync(SchedulerDataDirectory, TimeSpan.FromSeconds(60));
        _agentConfig = Path.Combine(_work.FullName, "agent.json");
        await File.WriteAllTextAsync(_agentConfig, "{}");

        _channel = GrpcChannel.ForAddress(SchedulerUrl);
        Services = new Berth.Scheduler.V1.Services.ServicesClient(_channel);
        Tasks = new Berth.Scheduler.V1.Tasks.TasksClient(_channel);
        Instances = new ContainerInstances.ContainerInstancesClient(_channel);
        TaskDefinitions = new TaskDefinitions.TaskDefinitionsClient(_channel);
        LoadBalancing = new Berth.Scheduler.V1.LoadBalancing.LoadBalancingClient(_channel);
        AutoScaling = new ApplicationAutoScaling.ApplicationAutoScalingClient(_channel);
        Metrics = new Berth.Scheduler.V1.Metrics.MetricsClient(_channel);
        SecurityGroups = new Berth.Scheduler.V1.SecurityGroups.SecurityGroupsClient(_channel);

        foreach (var host in Lab.Hosts.Take(3))
        {
            StartAgent(host);
        }

        await WaitForConnectedAgentsAsync(3);
    }

    private string SchedulerDataDirectory => Path.Combine(_work.FullName, "scheduler");

    /// <summary>Starts the scheduler process on <see cref="SchedulerUrl"/> and its data directory (kept across restarts).</summary>
    private void StartScheduler() =>
        _scheduler = ServiceProcess.Start("scheduler", Binary("Scheduler", "Berth.Scheduler.dll"),
        [
            "--urls", SchedulerUrl, "--data-dir", SchedulerDataDirectory, "--Scheduler:HeartbeatInterval", "00:00:01",
            // Five silent seconds close a session (not three): the machine running the lab may be loaded.
            "--Scheduler:MissedHeartbeatsBeforeDisconnect", "5",
            "--lost-host-grace", LostHostGrace.ToString("c", CultureInfo.InvariantCulture), "--Scheduler:FullSync", "false",
            "--Logging:LogLevel:Microsoft.AspNetCore", "Warning",
            // Auto scaling decides every 5 s here (1 min by default) so a lab test sees it within seconds.
            "--Scheduler:Scaling:Interval", "00:00:05",
        ], Write);

    /// <summary>
    /// Stops the scheduler as systemd would (SIGTERM, then a wait) or, with <paramref name="crash"/>, kills it (SIGKILL);
    /// agents and balancers keep running.
    /// </summary>
    public async Task StopSchedulerAsync(bool crash = false)
    {
        if (_scheduler is not null)
        {
            if (crash)
            {
                await _scheduler.KillAsync();
            }
            else
            {
                await _scheduler.StopAsync();
            }

            await _scheduler.DisposeAsync();
            _scheduler = null;
        }
    }

    /// <summary>
    /// Starts the scheduler again on the same address and data directory (after <see cref="StopSchedulerAsync"/>) and
    /// waits until it answers; the clients of this platform reconnect by themselves.
    /// </summary>
    public async Task StartSchedulerAgainAsync()
    {
        if (_scheduler is not null)
        {
            throw new InvalidOperationException("The scheduler is running.");
        }

        StartScheduler();
        await TaskTimeouts.WaitUntilAsync(async () =>
        {
            try
            {
                await DescribeInstancesAsync();
                return true;
            }
            catch (RpcException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(60), "the scheduler to answer again");
    }

    /// <summary>The lab host a task was placed on.</summary>
    public async Task<LabHost> HostOfAsync(TaskInfo task)
    {
        var instance = (await Instances.DescribeContainerInstancesAsync(new DescribeContainerInstancesRequest { Cluster = Cluster, ContainerInstances = { task.ContainerInstanceArn } }, Admin)).ContainerInstances.Single();
        return Lab.Hosts.Single(h => instance.Attributes.Any(a => a.Name == "berth.zone" && a.Value == ZoneOf(h)));
    }

    /// <summary>The zone attribute (<c>berth.zone</c>) of a lab host's agent: a, b, c, d for hosts 1-4.</summary>
    public static string ZoneOf(LabHost host) => s_zones[host.Number - 1];

    /// <summary>Starts (or restarts, with its state directory and so its registration) the agent of a host.</summary>
    public void StartAgent(LabHost host)
    {
        // nsenter execs the agent: the process is the agent, inside the host's network namespace.
        _agents[host.Number] = ServiceProcess.Start($"agent-h{host.Number}", "nsenter",
        [
            $"--net=/var/run/netns/{host.Namespace}", Binary("Agent", "Berth.Agent"),
            "--config", _agentConfig, "--scheduler-url", SchedulerUrl, "--join-token", _joinToken,
            "--cluster", Cluster, "--zone", ZoneOf(host), "--docker-endpoint", host.DockerHost,
            "--data-dir", Path.Combine(_work.FullName, $"agent-h{host.Number}"), "--scope", "lab", "--image-pull-behavior", "PreferCached",
            "--ReservedMemory", "0", "--ImageCleanup:Enabled", "false", "--StatsInterval", "00:00:02", "--TaskCleanup:Wait", "00:00:00", "--Logging:LogLevel:Default", "Warning",

            // Task cgroups below the lab engine's own parent, which lab/down.sh removes.
            "--Cgroups:Parent", $"/{host.Namespace}/berth",
        ], Write);
    }

    /// <summary>Kills a host's agent (SIGKILL), as a crash or a power cut would.</summary>
    public async Task KillAgentAsync(LabHost host)
    {
        if (_agents.Remove(host.Number, out var agent))
        {
            await agent.DisposeAsync();
        }
    }

    /// <summary>Waits until <paramref name="count"/> ACTIVE or DRAINING instances have a connected agent.</summary>
    public async Task WaitForConnectedAgentsAsync(int count) =>
        await TaskTimeouts.WaitUntilAsync(async () =>
        {
            try
            {
                return (await DescribeInstancesAsync()).Count(i => i.AgentConnected) == count;
            }
            catch (RpcException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(90), $"{count} agents to connect");

    /// <summary>Every ACTIVE and DRAINING instance of the lab cluster.</summary>
    public async Task<List<ContainerInstance>> DescribeInstancesAsync()
    {
        var list = await Instances.ListContainerInstancesAsync(new ListContainerInstancesRequest { Cluster = Cluster }, Admin);
        if (list.ContainerInstanceArns.Count == 0)
        {
            return [];
        }

        var described = await Instances.DescribeContainerInstancesAsync(new DescribeContainerInstancesRequest { Cluster = Cluster, ContainerInstances = { list.ContainerInstanceArns } }, Admin);
        return [.. described.ContainerInstances];
    }

    /// <summary>The instance a lab host's agent registered (found by its zone).</summary>
    public async Task<ContainerInstance> InstanceOfAsync(LabHost host) =>
        (await DescribeInstancesAsync()).Single(i => i.Attributes.Any(a => a.Name == "berth.zone" && a.Value == ZoneOf(host)));

    /// <summary>
    /// Registers an HTTP task definition: busybox httpd on container port 8080 (dynamic host port), a health check
    /// that asks it for its page every 5 s (ECS's shortest interval), 32 MiB. <paramref name="command"/> replaces
    /// the server (a revision that exits at once, say).
    /// </summary>
    public async Task<string> RegisterHttpAsync(string family, int revision, string? command = null)
    {
        var image = HttpImages[revision - 1];
        var commandJson = command is null ? "" : $$""", "entryPoint": ["sh", "-c"], "command": ["{{command}}"]""";
        var json = $$$"""
            {"family":"{{{family}}}","containerDefinitions":[{"name":"web","image":"{{{image}}}","memory":32,"cpu":64,"essential":true,
              "portMappings":[{"containerPort":8080}],"stopTimeout":2{{{commandJson}}},
              "healthCheck":{"command":["CMD-SHELL","case \"$(echo -e 'GET / HTTP/1.0\\r\\n\\r\\n' | nc 127.0.0.1 8080)\" in *200*) exit 0;; esac; exit 1"],
                "interval":5,"timeout":2,"retries":2,"startPeriod":0}}]}
            """;
        var registered = await TaskDefinitions.RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest { TaskDefinitionJson = json }, Admin);
        return registered.TaskDefinition.Arn;
    }

    /// <summary>The service's tasks that are not STOPPED (desired RUNNING or on their way to STOPPED).</summary>
    public async Task<List<TaskInfo>> ServiceTasksAsync(string service)
    {
        var arns = new List<string>();
        foreach (var desired in new[] { LifecycleStatus.Running, LifecycleStatus.Stopped })
        {
            var token = "";
            do
            {
                var page = await Tasks.ListTasksAsync(new ListTasksRequest { Cluster = Cluster, ServiceName = service, DesiredStatus = desired, NextToken = token, MaxResults = 100 }, Admin);
                arns.AddRange(page.TaskArns);
                token = page.NextToken;
            }
            while (!string.IsNullOrEmpty(token));
        }

        var tasks = new List<TaskInfo>();
        foreach (var chunk in arns.Chunk(100))
        {
            tasks.AddRange((await Tasks.DescribeTasksAsync(new DescribeTasksRequest { Cluster = Cluster, Tasks = { chunk } }, Admin)).Tasks);
        }

        return [.. tasks.Where(t => t.LastStatus != LifecycleStatus.Stopped)];
    }

    /// <summary>Tasks that run and pass their health check (what minimumHealthyPercent counts).</summary>
    public static List<TaskInfo> Healthy(IEnumerable<TaskInfo> tasks) =>
        [.. tasks.Where(t => t.LastStatus == LifecycleStatus.Running && t.HealthStatus == HealthStatus.Healthy)];

    public async Task<ServiceInfo> DescribeServiceAsync(string service) =>
        (await Services.DescribeServicesAsync(new DescribeServicesRequest { Cluster = Cluster, Services = { service } }, Admin)).Services.Single();

    /// <summary>The deployments still in play: PRIMARY and ACTIVE ones (finished ones stay listed as INACTIVE).</summary>
    public static List<Deployment> LiveDeployments(ServiceInfo service) => [.. service.Deployments.Where(d => d.Status != "INACTIVE")];

    /// <summary>Waits until the service is steady: <paramref name="count"/> healthy tasks and nothing else, its PRIMARY deployment alone and COMPLETED.</summary>
    public async Task<List<TaskInfo>> WaitForSteadyAsync(string service, int count, TimeSpan? timeout = null)
    {
        List<TaskInfo> tasks = [];
        await TaskTimeouts.WaitUntilAsync(async () =>
        {
            tasks = await ServiceTasksAsync(service);
            var described = await DescribeServiceAsync(service);
            return tasks.Count == count && Healthy(tasks).Count == count && LiveDeployments(described) is [{ Status: "PRIMARY", RolloutState: "COMPLETED" }];
        }, timeout ?? TimeSpan.FromSeconds(120), $"service {service} to be steady with {count} healthy tasks");
        return tasks;
    }

    /// <summary>Deletes a service with its tasks and waits until they are all STOPPED.</summary>
    public async Task DeleteServiceAsync(string service)
    {
        try
        {
            await Services.DeleteServiceAsync(new DeleteServiceRequest { Cluster = Cluster, Service = service, Force = true }, Admin);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
        {
            return;
        }

        await TaskTimeouts.WaitUntilAsync(async () => (await ServiceTasksAsync(service)).Count == 0, TimeSpan.FromSeconds(90), $"the tasks of {service} to stop");
    }

    /// <summary>The task ids of the running containers of a task family on a host's engine (what really runs there).</summary>
    public async Task<List<string>> RunningTaskIdsAsync(LabHost host, string family)
    {
        var ps = await Lab.DockerAsync(host, "ps", "--filter", "label=berth.agent=lab", "--format", "{{.Label \"berth.task-id\"}} {{.Label \"berth.task-definition\"}}");
        if (ps.ExitCode != 0)
        {
            // The engine is down: nothing runs there.
            return [];
        }

        return [.. ps.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(l => l.Split(' '))
            .Where(p => p.Length == 2 && p[1].StartsWith(family + ":", StringComparison.Ordinal))
            .Select(p => p[0])];
    }

    /// <summary>GETs the index page of a task from the root namespace (over the lab bridge); null when it does not answer.</summary>
    public async Task<string?> GetPageAsync(TaskInfo task)
    {
        var host = await HostOfAsync(task);
        var port = task.Containers[0].NetworkBindings.FirstOrDefault()?.HostPort ?? 0;
        if (port == 0)
        {
            return null;
        }

        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(3) };
            return await http.GetStringAsync($"http://{host.Address}:{port}/");
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var agent in _agents.Values)
        {
            await agent.DisposeAsync();
        }

        if (_scheduler is not null)
        {
            await _scheduler.DisposeAsync();
        }

        _channel?.Dispose();
        if (Lab is not null)
        {
            await Lab.DisposeAsync();
        }

        _work.Delete(recursive: true);
    }

    private void Write(string line)
    {
        try
        {
            Log?.Invoke(line);
        }
        catch (InvalidOperationException)
        {
            // The test that owned the log has finished.
        }
    }

    /// <summary>Imports busybox and builds both HTTP image revisions in a host's engine (offline, no registry).</summary>
    private async Task BuildImagesAsync(LabHost host)
    {
        await TestImages.EnsureBusyboxAsync(host.DockerHost, Write);
        for (var i = 0; i < HttpImages.Length; i++)
        {
            var context = Directory.CreateDirectory(Path.Combine(_work.FullName, $"image-h{host.Number}-{i + 1}"));
            Directory.CreateDirectory(Path.Combine(context.FullName, "www"));
            await File.WriteAllTextAsync(Path.Combine(context.FullName, "www", "index.html"), $"v{i + 1}\n");
            // Busybox as PID 1 ignores SIGTERM: the trap makes every stop quick instead of waiting for the kill timeout.
            await File.WriteAllTextAsync(Path.Combine(context.FullName, "Dockerfile"), $"""
                FROM {TestImages.Busybox}
                COPY www /www
                CMD ["sh", "-c", "trap 'exit 0' TERM; httpd -f -p 8080 -h /www & wait"]
                """);
            (await Lab.DockerAsync(host, "build", "-q", "-t", HttpImages[i], context.FullName)).EnsureSuccess($"docker build {HttpImages[i]} on h{host.Number}");
        }
    }

    /// <summary>A file of a project's build output in this test run's configuration (the scheduler and agent binaries).</summary>
    public static string Binary(string project, string file)
    {
        var configuration = AppContext.BaseDirectory.Contains("/Release/", StringComparison.Ordinal) ? "Release" : "Debug";
        return Path.Combine(LabHosts.RepositoryRoot(), "src", project, "bin", configuration, "net10.0", file);
    }
}
