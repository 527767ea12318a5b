using System.Diagnostics;
using System.Globalization;
using Berth.Scheduler.Provisioning;
using Berth.Scheduler.Provisioning.Lab;
using Berth.Scheduler.V1;
using Berth.TestSupport;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging.Abstractions;

namespace Berth.Scheduler.Tests.Provisioning;

/// <summary>
/// A lab provisioner with its own lab (a random id, a free 10.231.x.0/24, a temp data directory) and the real
/// scheduler process listening on the lab's root leg, so the hosts' agents register with it. Disposing stops the
/// scheduler and tears the lab down (lab/down.sh), whatever the test left. Needs root and the built agent.
/// </summary>
internal sealed class LabProvisionerFixture : IAsyncDisposable
{
    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("berth-lab-provisioner-");
    private readonly Stopwatch _started = Stopwatch.StartNew();
    private readonly Action<string> _log;
    private ServiceProcess? _scheduler;
    private GrpcChannel? _channel;
    private string _adminToken = "";

    private readonly bool _schedulerProvisions;
    private readonly IReadOnlyDictionary<string, string> _schedulerSettings;
    private readonly IReadOnlyDictionary<string, string> _agentSettings;

    private LabProvisionerFixture(Action<string> log, bool schedulerProvisions, IReadOnlyDictionary<string, string>? schedulerSettings, IReadOnlyDictionary<string, string>? agentSettings)
    {
        _log = log;
        _schedulerProvisions = schedulerProvisions;
        _schedulerSettings = schedulerSettings ?? new Dictionary<string, string>();
        _agentSettings = agentSettings ?? new Dictionary<string, string>();
    }

    public ProvisioningOptions Options { get; } = new() { Kind = "lab", RetryBackoff = TimeSpan.Zero, MaxRetryBackoff = TimeSpan.Zero };

    public Uri SchedulerUrl { get; private set; } = null!;

    public string JoinToken { get; private set; } = "";

    public string LabDirectory => Options.Lab.DataDirectory!;

    /// <param name="log">Where the scheduler's and the scripts' output goes.</param>
    /// <param name="schedulerProvisions">Whether the scheduler itself gets this lab as its provisioner (host groups make their hosts in it).</param>
    /// <param name="schedulerSettings">More scheduler settings (a key with ':' nests, as on its command line), e.g. shorter intervals.</param>
    /// <param name="agentSettings">More settings for the agents of the hosts the scheduler provisions (keys without ':').</param>
    public static async Task<LabProvisionerFixture> StartAsync(
        Action<string> log,
        bool schedulerProvisions = false,
        IReadOnlyDictionary<string, string>? schedulerSettings = null,
        IReadOnlyDictionary<string, string>? agentSettings = null)
    {
        var fixture = new LabProvisionerFixture(log, schedulerProvisions, schedulerSettings, agentSettings);
        try
        {
            await fixture.InitializeAsync();
        }
        catch
        {
            await fixture.DisposeAsync();
            throw;
        }

        return fixture;
    }

    /// <summary>A provisioner over this lab; a new one stands for a restarted scheduler (the lab provisioner keeps nothing in memory).</summary>
    public LabHostProvisioner Provisioner() =>
        new(Microsoft.Extensions.Options.Options.Create(Options), TimeProvider.System, NullLogger<LabHostProvisioner>.Instance);

    public HostProvisioning Caller() =>
        new(Provisioner(), Microsoft.Extensions.Options.Options.Create(Options), TimeProvider.System, NullLogger<HostProvisioning>.Instance);

    public HostRequest Request(string name, string zone = "a") => new(name, "default", SchedulerUrl, JoinToken, zone, "lab.small");

    /// <summary>Call options with the admin token and a deadline.</summary>
    public CallOptions Admin => new(new Metadata { { "authorization", "Bearer " + _adminToken } }, DateTime.UtcNow.AddSeconds(30));

    /// <summary>The lab's root leg address (where the scheduler listens, reachable from every host).</summary>
    public string RootAddress => SchedulerUrl.Host;

    /// <summary>A free TCP port on the lab's root address (for a balancer's listener).</summary>
    public int FreeRootPort() => TestPorts.Next(RootAddress);

    /// <summary>The scheduler's gRPC channel, for the APIs this fixture does not name.</summary>
    public GrpcChannel Channel => _channel!;

    /// <summary>The scheduler's HostGroups API.</summary>
    public V1.HostGroups.HostGroupsClient HostGroups => new(_channel);

    public V1.Clusters.ClustersClient Clusters => new(_channel);

    public V1.CapacityProviders.CapacityProvidersClient CapacityProviders => new(_channel);

    public V1.TaskDefinitions.TaskDefinitionsClient TaskDefinitions => new(_channel);

    public V1.Services.ServicesClient Services => new(_channel);

    public V1.Tasks.TasksClient Tasks => new(_channel);

    public V1.LoadBalancing.LoadBalancingClient LoadBalancing => new(_channel);

    public V1.ApplicationAutoScaling.ApplicationAutoScalingClient AutoScaling => new(_channel);

    /// <summary>Writes <paramref name="what"/> to the log with the seconds since the fixture started: the lab tests' timeline.</summary>
    public void Log(string what) => _log($"[{_started.Elapsed.TotalSeconds:0.0} s] {what}");

    /// <summary>The Docker endpoint of the lab host named <paramref name="hostName"/> (its own engine; lab/common.sh's layout).</summary>
    public string DockerHostOf(string hostName)
    {
        var slot = Directory.EnumerateDirectories(LabDirectory, "h*")
            .Single(d => File.Exists(Path.Combine(d, "name")) && File.ReadAllText(Path.Combine(d, "name")).Trim() == hostName);
        return "unix://" + Path.Combine(slot, "docker.sock");
    }

    /// <summary>
    /// The container instances registered in the default cluster (of <paramref name="status"/>; ACTIVE and DRAINING when
    /// empty), with their attributes; the FARGATE pool's hosts too with <paramref name="includeFargate"/>.
    /// </summary>
    public async Task<List<ContainerInstance>> InstancesAsync(string status = "", bool includeFargate = false)
    {
        var client = new ContainerInstances.ContainerInstancesClient(_channel);
        var admin = Admin;
        var list = await client.ListContainerInstancesAsync(new ListContainerInstancesRequest { Cluster = "default", Status = status, IncludeFargate = includeFargate }, admin);
        if (list.ContainerInstanceArns.Count == 0)
        {
            return [];
        }

        return [.. (await client.DescribeContainerInstancesAsync(new DescribeContainerInstancesRequest { Cluster = "default", ContainerInstances = { list.ContainerInstanceArns } }, admin)).ContainerInstances];
    }

    /// <summary>The host group named <paramref name="name"/> once <paramref name="condition"/> holds for it.</summary>
    public async Task<HostGroup> WaitForHostGroupAsync(string name, Func<HostGroup, bool> condition, TimeSpan timeout, string what)
    {
        HostGroup group = null!;
        await TaskTimeouts.WaitUntilAsync(async () =>
        {
            group = (await HostGroups.DescribeHostGroupsAsync(new DescribeHostGroupsRequest { Names = { name } }, Admin)).HostGroups.Single();
            return condition(group);
        }, timeout, what);
        return group;
    }

    /// <summary>The tasks of <paramref name="service"/> of a desired status (RUNNING also lists those waiting in PROVISIONING and PENDING).</summary>
    public async Task<List<TaskInfo>> ServiceTasksAsync(string service, LifecycleStatus desiredStatus = LifecycleStatus.Running)
    {
        var tasks = Tasks;
        var arns = (await tasks.ListTasksAsync(new ListTasksRequest { ServiceName = service, DesiredStatus = desiredStatus }, Admin)).TaskArns;
        return arns.Count == 0 ? [] : [.. (await tasks.DescribeTasksAsync(new DescribeTasksRequest { Tasks = { arns } }, Admin)).Tasks];
    }

    /// <summary>The tasks <paramref name="service"/> wants running (<see cref="ServiceTasksAsync"/>) once <paramref name="condition"/> holds for them.</summary>
    public async Task<List<TaskInfo>> WaitForServiceTasksAsync(string service, Func<List<TaskInfo>, bool> condition, TimeSpan timeout, string what)
    {
        List<TaskInfo> tasks = [];
        await TaskTimeouts.WaitUntilAsync(async () => condition(tasks = await ServiceTasksAsync(service)), timeout, what);
        return tasks;
    }

    /// <summary>Runs lab/host.sh directly (for what the provisioner does not expose, e.g. a second opinion on list).</summary>
    public Task<ProcessResult> HostScriptAsync(params string[] arguments) =>
        ProcessRunner.RunAsync("bash", [Path.Combine(Options.Lab.ScriptsDirectory, "host.sh"), .. arguments], TimeSpan.FromSeconds(60), environment: Environment(), log: _log);

    public async ValueTask DisposeAsync()
    {
        if (_scheduler is not null)
        {
            await _scheduler.DisposeAsync();
        }

        _channel?.Dispose();
        if (Options.Lab.DataDirectory is not null)
        {
            (await ProcessRunner.RunAsync("bash", [Path.Combine(Options.Lab.ScriptsDirectory, "down.sh")], TimeSpan.FromSeconds(180), environment: Environment(), log: _log)).EnsureSuccess("lab/down.sh");
        }

        _work.Delete(recursive: true);
    }

    private Dictionary<string, string> Environment() => new()
    {
        ["LAB_ID"] = Options.Lab.Id,
        ["LAB_NET"] = Options.Lab.Net.ToString(CultureInfo.InvariantCulture),
        ["LAB_DIR"] = LabDirectory,
    };

    private async Task InitializeAsync()
    {
        Options.Lab.Id = "p" + Guid.NewGuid().ToString("N")[..3];
        Options.Lab.Net = await LabHosts.FreeSubnetAsync();
        Options.Lab.DataDirectory = Path.Combine(_work.FullName, "lab");
        Options.Lab.ScriptsDirectory = Path.Combine(LabHosts.RepositoryRoot(), "lab");
        Options.Lab.AgentPath = LabPlatform.Binary("Agent", "Berth.Agent");
        Options.Lab.AgentSettings["ReservedMemory"] = "0";
        Options.Lab.AgentSettings["ImageCleanup:Enabled"] = "false";
        Options.Lab.AgentSettings["HeartbeatInterval"] = "00:00:01";
        foreach (var (key, value) in _agentSettings)
        {
            Options.Lab.AgentSettings[key] = value;
        }

        Options.CreateTimeout = TimeSpan.FromMinutes(3);
        Options.DestroyTimeout = TimeSpan.FromMinutes(2);

        var root = await Provisioner().EnsureNetworkAsync(CancellationToken.None).WithTimeout();
        var port = TestPorts.Next(root);
        SchedulerUrl = new Uri($"http://{root}:{port}");
        var data = Path.Combine(_work.FullName, "scheduler");
        List<string> arguments = ["--urls", SchedulerUrl.ToString().TrimEnd('/'), "--data-dir", data, "--Logging:LogLevel:Microsoft.AspNetCore", "Warning"];
        if (_schedulerProvisions)
        {
            arguments.AddRange(
            [
                "--Provisioning:Kind", "lab",
                "--Provisioning:Lab:Id", Options.Lab.Id,
                "--Provisioning:Lab:Net", Options.Lab.Net.ToString(CultureInfo.InvariantCulture),
                "--Provisioning:Lab:DataDirectory", Options.Lab.DataDirectory,
                "--Provisioning:Lab:ScriptsDirectory", Options.Lab.ScriptsDirectory,
                "--Provisioning:Lab:AgentPath", Options.Lab.AgentPath,
                "--Provisioning:CreateTimeout", Options.CreateTimeout.ToString(),
                "--Provisioning:RetryBackoff", "00:00:01",
                "--HostGroups:SchedulerUrl", SchedulerUrl.ToString(),
                "--HostGroups:Interval", "00:00:02",
            ]);
            // A key with ':' cannot be spelled on a command line as one dictionary key (it would nest): those stay defaults.
            foreach (var (key, value) in Options.Lab.AgentSettings.Where(s => !s.Key.Contains(':', StringComparison.Ordinal)))
            {
                arguments.AddRange([$"--Provisioning:Lab:AgentSettings:{key}", value]);
            }
        }

        foreach (var (key, value) in _schedulerSettings)
        {
            arguments.AddRange([$"--{key}", value]);
        }

        _scheduler = ServiceProcess.Start("scheduler", LabPlatform.Binary("Scheduler", "Berth.Scheduler.dll"), arguments, _log);
        (JoinToken, _adminToken) = await SchedulerTokens.ReadAsync(data, TimeSpan.FromSeconds(60));
        _channel = GrpcChannel.ForAddress(SchedulerUrl);
        // The tokens are written before Kestrel listens: wait until the API answers.
        await TaskTimeouts.WaitUntilAsync(async () =>
        {
            try
            {
                await InstancesAsync();
                return true;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
            {
                // It answers: the default cluster just has no host yet.
                return true;
            }
            catch (RpcException e) when (e.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded)
            {
                // Not listening yet, or listening and still loading its state, which holds every call until it is loaded
                // (src/Scheduler/Security/AuthInterceptor.cs): at a load average of 40 here that outlasted a call's 30 s.
                return false;
            }
        }, TimeSpan.FromSeconds(120), "the scheduler's API");
    }
}
