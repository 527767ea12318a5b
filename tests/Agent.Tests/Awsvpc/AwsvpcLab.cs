using System.Globalization;
using Berth.Scheduler.V1;
using Berth.TestSupport;

namespace Berth.Agent.Tests.Awsvpc;

/// <summary>
/// Lab hosts (each a network namespace with its own engine), an agent process in each, and a <see cref="ScriptedScheduler"/>
/// on the root leg. Host N's task subnet is <c>10.240.N.0/24</c> in the cluster CIDR <c>10.240.0.0/16</c>; every host
/// routes the others' subnets through their lab addresses (one L2 segment: the lab's bridge).
/// </summary>
internal sealed class AwsvpcLab : IAsyncDisposable
{
    public const string ClusterCidr = "10.240.0.0/16";

    private readonly Dictionary<int, ServiceProcess> _agents = [];
    private readonly DirectoryInfo _work;
    private readonly Action<string> _log;
    private readonly string[] _agentArguments;

    private AwsvpcLab(LabHosts hosts, ScriptedScheduler scheduler, DirectoryInfo work, Action<string> log, string[] agentArguments)
    {
        Upstream = new UpstreamDns(hosts.RootAddress);
        Hosts = hosts;
        Scheduler = scheduler;
        _work = work;
        _log = log;
        _agentArguments = agentArguments;
    }

    public LabHosts Hosts { get; }

    public ScriptedScheduler Scheduler { get; }

    /// <summary>The agents' upstream resolver (Awsvpc:DnsUpstreams), on the root leg.</summary>
    public UpstreamDns Upstream { get; }

    public static async Task<AwsvpcLab> StartAsync(int count, Action<string> log, params string[] agentArguments)
    {
        var hosts = await LabHosts.StartAsync(count, log);
        try
        {
            await Task.WhenAll(hosts.Hosts.Select(h => TestImages.EnsureBusyboxAsync(h.DockerHost, log)));
            var scheduler = await ScriptedScheduler.StartAsync(hosts.RootAddress, log);
            var lab = new AwsvpcLab(hosts, scheduler, Directory.CreateTempSubdirectory("berth-awsvpc-"), log, agentArguments);
            await File.WriteAllTextAsync(Path.Combine(lab._work.FullName, "agent.json"), "{}");
            foreach (var host in hosts.Hosts)
            {
                lab.StartAgent(host);
            }

            foreach (var host in hosts.Hosts)
            {
                await scheduler.WaitForSessionAsync(InstanceId(host), TimeSpan.FromSeconds(90));
            }

            return lab;
        }
        catch
        {
            await hosts.DisposeAsync();
            throw;
        }
    }

    public static string InstanceId(LabHost host) => $"ci-h{host.Number}";

    public static string Subnet(LabHost host) => $"10.240.{host.Number.ToString(CultureInfo.InvariantCulture)}.0/24";

    /// <summary>Starts (or restarts, keeping its state directory) the agent of a host.</summary>
    public void StartAgent(LabHost host)
    {
        _agents[host.Number] = ServiceProcess.Start($"agent-h{host.Number}", "nsenter",
        [
            $"--net=/var/run/netns/{host.Namespace}", LabPlatform.Binary("Agent", "Berth.Agent"),
            "--config", Path.Combine(_work.FullName, "agent.json"), "--scheduler-url", Scheduler.Url, "--join-token", ScriptedScheduler.JoinToken,
            "--cluster", "lab", "--zone", $"h{host.Number}", "--docker-endpoint", host.DockerHost,
            "--data-dir", Path.Combine(_work.FullName, $"agent-h{host.Number}"), "--scope", "lab", "--image-pull-behavior", "PreferCached",
            "--ReservedMemory", "0", "--ImageCleanup:Enabled", "false", "--TaskCleanup:Wait", "00:00:00", "--ReconcileInterval", "00:00:02",

            // Below the lab engine's own cgroup parent, which lab/down.sh removes.
            "--Cgroups:Parent", $"/{host.Namespace}/berth",
            "--Awsvpc:DnsUpstreams:0", Upstream.Address,
            .. _agentArguments,
        ], _log);
    }

    /// <summary>The agent's state directory on a host (instance identity, CNI's IPAM store under <c>cni/ipam</c>).</summary>
    public string StateDirectory(LabHost host) => Path.Combine(_work.FullName, $"agent-h{host.Number}");

    /// <summary>The addresses host-local holds for a host's sandboxes (one file per address).</summary>
    public IReadOnlyList<string> AllocatedAddresses(LabHost host)
    {
        var store = new DirectoryInfo(Path.Combine(StateDirectory(host), "cni", "ipam", "berth-awsvpc"));
        return store.Exists ? store.EnumerateFiles("10.*").Select(f => f.Name).Order(StringComparer.Ordinal).ToList() : [];
    }

    /// <summary>kill -9 of a host's agent (its tasks, bridge, routes and rules stay, as after a crash).</summary>
    public async Task KillAgentAsync(LabHost host)
    {
        if (_agents.Remove(host.Number, out var agent))
        {
            await agent.KillAsync();
        }
    }

    /// <summary>The host's network: its subnet, the cluster CIDR, a route to every other host's subnet via that host.</summary>
    public Berth.Scheduler.V1.HostNetwork Network(LabHost host)
    {
        var network = new Berth.Scheduler.V1.HostNetwork { TaskSubnet = Subnet(host), ClusterCidr = ClusterCidr };
        network.PeerRoutes.AddRange(Hosts.Hosts.Where(h => h != host).Select(h => new Berth.Scheduler.V1.PeerRoute { Subnet = Subnet(h), Via = h.Address, ContainerInstanceId = InstanceId(h) }));
        return network;
    }

    /// <summary>A desired state for <paramref name="host"/>: its network, the tasks, each definition once.</summary>
    public DesiredState Desired(LabHost host, IEnumerable<(DesiredTask Task, string DefinitionJson)> tasks, IEnumerable<SecurityGroup>? groups = null, ServiceDiscovery? discovery = null)
    {
        var desired = new DesiredState { InstanceStatus = ContainerInstanceStatus.Active, HostNetwork = Network(host), ServiceDiscovery = discovery };
        foreach (var (task, json) in tasks)
        {
            desired.Tasks.Add(task);
            if (desired.TaskDefinitions.All(d => d.TaskDefinitionArn != task.TaskDefinitionArn))
            {
                desired.TaskDefinitions.Add(new TaskDefinitionDocument { TaskDefinitionArn = task.TaskDefinitionArn, TaskDefinitionJson = json });
            }
        }

        desired.SecurityGroups.AddRange(groups ?? []);
        return desired;
    }

    /// <summary>A task of an awsvpc definition with one busybox container running <paramref name="script"/>.</summary>
    public static (DesiredTask Task, string DefinitionJson) AwsvpcTask(string taskId, string script, IEnumerable<string>? securityGroups = null, string extraDefinition = "", string? launchType = null, string? sidecarScript = null)
    {
        var family = "f-" + taskId;
        var sidecar = sidecarScript is null
            ? string.Empty
            : $$""",{"name":"sidecar","image":"{{TestImages.Busybox}}","essential":false,"entryPoint":["sh","-c"],"stopTimeout":2,"command":[{{System.Text.Json.JsonSerializer.Serialize(sidecarScript)}}]}""";
        var json = $$"""
            {"family":"{{family}}","networkMode":"awsvpc"{{extraDefinition}},"containerDefinitions":[
              {"name":"main","image":"{{TestImages.Busybox}}","entryPoint":["sh","-c"],"stopTimeout":2,"command":[{{System.Text.Json.JsonSerializer.Serialize(script)}}]}{{sidecar}}]}
            """;
        var task = new DesiredTask
        {
            TaskId = taskId,
            TaskArn = "arn:task/" + taskId,
            Cluster = "lab",
            TaskDefinitionArn = $"arn:task-definition/{family}:1",
            DesiredStatus = LifecycleStatus.Running,
            LaunchType = launchType ?? string.Empty,
            AwsvpcConfiguration = new AwsvpcConfiguration(),
        };
        task.AwsvpcConfiguration.SecurityGroups.AddRange(securityGroups ?? []);
        return (task, json);
    }

    /// <summary>A shell loop answering <paramref name="reply"/> on each of <paramref name="ports"/>, with a TERM trap.</summary>
    public static string Server(string reply, params int[] ports) =>
        "trap 'exit 0' TERM; " + string.Concat(ports.Select(p => $"while true; do echo {reply} | nc -l -p {p}; done & ")) + "wait";

    public const string Idle = "trap 'exit 0' TERM; sleep 3600 & wait";

    /// <summary>Waits until the task runs and has its address; returns its report.</summary>
    public Task<TaskReport> WaitRunningAsync(LabHost host, string taskId) =>
        Scheduler.WaitForTaskAsync(InstanceId(host), taskId, r => r.LastStatus == LifecycleStatus.Running && r.NetworkAttachment is { Ipv4Address.Length: > 0 }, TimeSpan.FromSeconds(90), $"{taskId} to run with an address");

    /// <summary>Runs a shell command in a task's container (by runtime id) and returns its output.</summary>
    public async Task<ProcessResult> ExecAsync(LabHost host, TaskReport task, string command, string container = "main") =>
        await Hosts.DockerAsync(host, "exec", task.Containers.Single(c => c.Name == container).RuntimeId, "sh", "-c", command);

    /// <summary>What a TCP connection from a task to <paramref name="address"/>:<paramref name="port"/> reads (empty: no connection).</summary>
    public async Task<string> ConnectAsync(LabHost host, TaskReport from, string address, int port) =>
        (await ExecAsync(host, from, $"nc -w 2 {address} {port} </dev/null")).StandardOutput.Trim();

    public async ValueTask DisposeAsync()
    {
        foreach (var agent in _agents.Values)
        {
            await agent.DisposeAsync();
        }

        await Scheduler.DisposeAsync();
        Upstream.Dispose();
        await Hosts.DisposeAsync();
        _work.Delete(recursive: true);
    }
}
