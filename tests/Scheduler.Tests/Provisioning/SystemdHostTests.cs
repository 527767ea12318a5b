using System.Globalization;
using Berth.Scheduler.V1;
using Berth.TestSupport;
using Grpc.Core;
using Grpc.Net.Client;
using Xunit.Abstractions;

namespace Berth.Scheduler.Tests.Provisioning;

/// <summary>
/// Hosts as on a VM (issue 18, "Proof"): deploy/agent/install.sh installs the self-contained agent on a machine whose
/// PID 1 is systemd; the unit starts, notifies ready, registers with the real scheduler process, runs a task and
/// survives <c>systemctl restart</c>.
/// </summary>
[Trait("Category", "System")]
public sealed class SystemdHostTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("berth-systemd-host-");
    private readonly string _scope = "vm" + Guid.NewGuid().ToString("N")[..6];
    private ServiceProcess? _scheduler;
    private GrpcChannel? _channel;
    private string _adminToken = "";
    private string _joinToken = "";

    private CallOptions Admin => new(new Metadata { { "authorization", "Bearer " + _adminToken } }, DateTime.UtcNow.AddSeconds(30));

    [Fact]
    public async Task InstallSh_OnASystemdMachine_UnitNotifiesReady_Registers_RunsATask_AndSurvivesARestart()
    {
        var repo = LabHosts.RepositoryRoot();
        var publish = await SystemdMachine.PublishedAgentAsync(output.WriteLine);

        // The machine reaches the scheduler on the engine's bridge gateway (the root namespace's side of docker0).
        var gateway = await SystemdMachine.BridgeGatewayAsync();
        var schedulerUrl = await StartSchedulerAsync(gateway);
        var joinToken = _joinToken;
        await TestImages.EnsureBusyboxAsync(null, output.WriteLine);

        await using var machine = await SystemdMachine.StartAsync([(publish, "/mnt/agent"), (Path.Combine(repo, "deploy", "agent"), "/mnt/install")], output.WriteLine);
        // Several agents share this engine (other tests): this one adopts only its own scope's containers.
        Assert.Equal(0, (await machine.ExecAsync("sh", "-c", $"mkdir -p /etc/systemd/system/berth-agent.service.d && printf '[Service]\\nEnvironment=BERTH_SCOPE={_scope}\\n' >/etc/systemd/system/berth-agent.service.d/scope.conf")).ExitCode);

        var install = await machine.ExecAsync("/mnt/install/install.sh", "--from", "/mnt/agent", "--scheduler-url", schedulerUrl, "--join-token", joinToken,
            "--cluster", "default", "--zone", "vm", "--attribute", "berth.host-name=vm-1", "--docker-endpoint", "unix://" + SystemdMachine.DockerSocket);
        Assert.True(install.ExitCode == 0, install.Stdout + install.Stderr);

        // Type=notify: systemd calls the unit active only once the agent has sent READY=1 (install.sh's restart waits for it).
        var unit = await UnitAsync(machine);
        Assert.Equal("notify", unit["Type"]);
        Assert.Equal("active", unit["ActiveState"]);
        Assert.Equal("running", unit["SubState"]);
        var firstPid = unit["MainPID"];

        var instance = await WaitForInstanceAsync(connected: true);
        Assert.Contains(instance.Attributes, a => a.Name == "berth.zone" && a.Value == "vm");

        var family = "vm-task-" + _scope;
        await new Berth.Scheduler.V1.TaskDefinitions.TaskDefinitionsClient(_channel).RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest
        {
            TaskDefinitionJson = $$"""
                {"family":"{{family}}","containerDefinitions":[{"name":"main","image":"{{TestImages.Busybox}}","memory":16,"essential":true,
                  "entryPoint":["sh","-c"],"command":["trap 'exit 0' TERM; sleep 600 & wait"],"stopTimeout":2}]}
                """,
        }, Admin);
        var tasks = new Berth.Scheduler.V1.Tasks.TasksClient(_channel);
        var run = await tasks.RunTaskAsync(new RunTaskRequest { Cluster = "default", TaskDefinition = family, PlacementConstraints = { new PlacementConstraint { Type = "memberOf", Expression = "attribute:berth.host-name == vm-1" } } }, Admin);
        var taskArn = Assert.Single(run.Tasks).TaskArn;
        var task = await WaitForTaskAsync(tasks, taskArn, LifecycleStatus.Running);
        Assert.Equal(instance.ContainerInstanceArn, task.ContainerInstanceArn);
        var containerId = task.Containers.Single().RuntimeId;

        // The restart: a new agent process, the same instance (its identity is on disk), the task adopted, not restarted.
        Assert.Equal(0, (await machine.ExecAsync("systemctl", "restart", "berth-agent")).ExitCode);
        unit = await UnitAsync(machine);
        Assert.Equal("active", unit["ActiveState"]);
        Assert.NotEqual(firstPid, unit["MainPID"]);
        await TaskTimeouts.WaitUntilAsync(async () => (await WaitForInstanceAsync(connected: false)).AgentConnected, TimeSpan.FromSeconds(90), "the restarted agent to reconnect");
        Assert.Equal(instance.ContainerInstanceArn, (await WaitForInstanceAsync(connected: true)).ContainerInstanceArn);
        task = await WaitForTaskAsync(tasks, taskArn, LifecycleStatus.Running);
        Assert.Equal(containerId, task.Containers.Single().RuntimeId);

        await tasks.StopTaskAsync(new StopTaskRequest { Cluster = "default", Task = taskArn, Reason = "test over" }, Admin);
        await WaitForTaskAsync(tasks, taskArn, LifecycleStatus.Stopped);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        // Containers this test's agent left on the shared engine (a failed run).
        await AgentScopeContainers.RemoveAsync(_scope);

        if (_scheduler is not null)
        {
            await _scheduler.DisposeAsync();
        }

        _channel?.Dispose();
        _work.Delete(recursive: true);
    }

    private async Task<string> StartSchedulerAsync(string address)
    {
        var port = TestPorts.Next(address);
        var url = $"http://{address}:{port.ToString(CultureInfo.InvariantCulture)}";
        var data = Path.Combine(_work.FullName, "scheduler");
        _scheduler = ServiceProcess.Start("scheduler", LabPlatform.Binary("Scheduler", "Berth.Scheduler.dll"),
            ["--urls", url, "--data-dir", data, "--Scheduler:HeartbeatInterval", "00:00:02", "--Logging:LogLevel:Microsoft.AspNetCore", "Warning"], output.WriteLine);
        // The scheduler writes the admin token before the join token: waiting for the admin token alone let the join
        // token be read before it existed (a loaded CI run, 2026-12-05).
        var tokens = await SchedulerTokens.ReadAsync(data, TimeSpan.FromSeconds(60));
        _adminToken = tokens.Admin;
        _joinToken = tokens.Join;
        _channel = GrpcChannel.ForAddress(url);
        return url;
    }

    private static async Task<Dictionary<string, string>> UnitAsync(SystemdMachine machine)
    {
        var show = await machine.ExecAsync("systemctl", "show", "berth-agent", "-p", "Type", "-p", "ActiveState", "-p", "SubState", "-p", "MainPID");
        return show.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split('=', 2))
            .ToDictionary(p => p[0], p => p[1].Trim());
    }

    /// <summary>The instance registered with berth.host-name = vm-1, once there is one (and, when asked, connected).</summary>
    private async Task<ContainerInstance> WaitForInstanceAsync(bool connected)
    {
        var client = new ContainerInstances.ContainerInstancesClient(_channel);
        ContainerInstance? found = null;
        await TaskTimeouts.WaitUntilAsync(async () =>
        {
            ListContainerInstancesResponse list;
            try
            {
                list = await client.ListContainerInstancesAsync(new ListContainerInstancesRequest { Cluster = "default" }, Admin);
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
            {
                // The cluster appears with its first registration: the agent signals ready before it registers.
                return false;
            }

            if (list.ContainerInstanceArns.Count == 0)
            {
                return false;
            }

            var described = await client.DescribeContainerInstancesAsync(new DescribeContainerInstancesRequest { Cluster = "default", ContainerInstances = { list.ContainerInstanceArns } }, Admin);
            found = described.ContainerInstances.SingleOrDefault(i => i.Attributes.Any(a => a.Name == "berth.host-name" && a.Value == "vm-1"));
            return found is not null && (!connected || found.AgentConnected);
        }, TimeSpan.FromSeconds(90), "the machine's agent to register");
        return found!;
    }

    private async Task<TaskInfo> WaitForTaskAsync(Berth.Scheduler.V1.Tasks.TasksClient tasks, string arn, LifecycleStatus status)
    {
        TaskInfo? task = null;
        await TaskTimeouts.WaitUntilAsync(async () =>
        {
            task = (await tasks.DescribeTasksAsync(new DescribeTasksRequest { Cluster = "default", Tasks = { arn } }, Admin)).Tasks.Single();
            return task.LastStatus == status;
        }, TimeSpan.FromSeconds(120), $"task {arn} to be {status}");
        return task!;
    }
}
