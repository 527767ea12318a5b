using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Berth.Scheduler.Provisioning;
using Berth.Scheduler.Tests.Provisioning;
using Berth.Scheduler.V1;
using Berth.TestSupport;
using Grpc.Core;
using Grpc.Net.Client;
using Xunit.Abstractions;

namespace Berth.Scheduler.Tests.HostGroups;

/// <summary>
/// Hosts as on a VM, made by a host group (issue 18, "Proof"): the real scheduler process with
/// <c>Provisioning:Kind=exec</c> and the deploy/provisioners/systemd-container scripts grows a group of one with a
/// Debian machine whose PID 1 is systemd, whose own Docker engine runs the task, and whose agent install.sh installed
/// and registered with its one-use token; an update to 0 leaves nothing of it.
/// </summary>
[Trait("Category", "System")]
public sealed class HostGroupSystemdTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("berth-systemd-group-");
    private readonly string _pool = "t" + Guid.NewGuid().ToString("N")[..8];
    private readonly string _scripts = Path.Combine(LabHosts.RepositoryRoot(), "deploy", "provisioners", "systemd-container");
    private ServiceProcess? _scheduler;
    private GrpcChannel? _channel;
    private string _adminToken = "";

    private CallOptions Admin => new(new Metadata { { "authorization", "Bearer " + _adminToken } }, DateTime.UtcNow.AddSeconds(30));

    [Fact]
    public async Task HostGroupOfOne_GrowsASystemdMachineWithItsOwnEngine_RunsATaskThere_UpdateToZero_LeavesNothing()
    {
        var repo = LabHosts.RepositoryRoot();
        var publish = await SystemdMachine.PublishedAgentAsync(output.WriteLine);
        // Built once per engine (by tag), before any create runs against a deadline.
        await SystemdMachine.EnsureImageAsync(output.WriteLine, withEngine: true);
        await TestImages.EnsureBusyboxAsync(null, output.WriteLine);
        // The machines sit on the engine's default bridge; the scheduler listens on its gateway, this machine's own interface.
        await StartSchedulerAsync(await SystemdMachine.BridgeGatewayAsync(), publish);
        var groups = new V1.HostGroups.HostGroupsClient(_channel);

        await groups.CreateHostGroupAsync(new CreateHostGroupRequest { Name = "vms", MinSize = 0, MaxSize = 1, DesiredCapacity = 1, Zones = { "a" }, InstanceType = "vm.small" }, Admin);

        HostGroup group = null!;
        await TaskTimeouts.WaitUntilAsync(async () =>
        {
            group = (await groups.DescribeHostGroupsAsync(new DescribeHostGroupsRequest { Names = { "vms" } }, Admin)).HostGroups.Single();
            return group.Hosts is [{ LifecycleState: "InService" }];
        }, TimeSpan.FromMinutes(8), "the group's systemd machine in service");
        var host = group.Hosts[0];
        Assert.Equal("exec", group.Provisioner);
        var instance = Assert.Single(await InstancesAsync());
        Assert.Equal(host.ContainerInstanceArn, instance.ContainerInstanceArn);
        Assert.Contains(instance.Attributes, a => a.Name == HostRequest.HostNameAttribute && a.Value == host.Name);
        Assert.Contains(instance.Attributes, a => a.Name == "berth.zone" && a.Value == "a");
        Assert.Contains(instance.Attributes, a => a.Name == "berth.instance-type" && a.Value == "vm.small");
        await TaskTimeouts.WaitUntilAsync(async () => (await InstancesAsync()).Single().AgentConnected, TimeSpan.FromSeconds(90), "the agent's session");

        // A machine as on a VM: systemd is PID 1, the agent is its Type=notify unit (active only after READY=1), and
        // the provisioner's list sees it running.
        var machine = "berth-machine-" + _pool + "-" + host.Name;
        Assert.Equal("systemd", (await InMachineAsync(machine, "cat", "/proc/1/comm")).Trim());
        Assert.Equal("Type=notify\nActiveState=active", (await InMachineAsync(machine, "systemctl", "show", "berth-agent", "-p", "Type", "-p", "ActiveState")).Trim());
        Assert.Equal([(host.Name, "running")], (await ListAsync()).Select(h => (h.Name, h.State)));

        // A task placed on it runs on the machine's own engine, not on this one.
        var family = "vm-task-" + _pool;
        await new V1.TaskDefinitions.TaskDefinitionsClient(_channel).RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest
        {
            TaskDefinitionJson = $$"""
                {"family":"{{family}}","containerDefinitions":[{"name":"main","image":"{{TestImages.Busybox}}","memory":16,"essential":true,
                  "entryPoint":["sh","-c"],"command":["trap 'exit 0' TERM; sleep 600 & wait"],"stopTimeout":2}]}
                """,
        }, Admin);
        var tasks = new V1.Tasks.TasksClient(_channel);
        var run = await tasks.RunTaskAsync(new RunTaskRequest { Cluster = "default", TaskDefinition = family, PlacementConstraints = { new PlacementConstraint { Type = "memberOf", Expression = $"attribute:berth.host-name == {host.Name}" } } }, Admin);
        var taskArn = Assert.Single(run.Tasks).TaskArn;
        var task = await WaitForTaskAsync(tasks, taskArn, LifecycleStatus.Running);
        Assert.Equal(instance.ContainerInstanceArn, task.ContainerInstanceArn);
        var containerId = task.Containers.Single().RuntimeId;
        Assert.Contains(containerId, await InMachineAsync(machine, "docker", "ps", "-q", "--no-trunc"));
        Assert.NotEqual(0, (await ProcessRunner.RunAsync("docker", ["container", "inspect", containerId])).ExitCode);

        await tasks.StopTaskAsync(new StopTaskRequest { Cluster = "default", Task = taskArn, Reason = "test over" }, Admin);
        await WaitForTaskAsync(tasks, taskArn, LifecycleStatus.Stopped);
        var volume = (await ProcessRunner.RunAsync("docker", ["inspect", "-f", "{{range .Mounts}}{{if eq .Destination \"/var/lib/docker\"}}{{.Name}}{{end}}{{end}}", machine]))
            .EnsureSuccess("docker inspect the machine").StandardOutput.Trim();
        // The machine's memory cgroup on this host (systemd, PID 1 there, sits in init.scope below it).
        var cgroup = (await InMachineAsync(machine, "sed", "-n", "s/^[0-9]*:memory://p", "/proc/1/cgroup")).Trim().Replace("/init.scope", "", StringComparison.Ordinal);
        Assert.NotEmpty(volume);
        Assert.True(Directory.Exists("/sys/fs/cgroup/memory" + cgroup), cgroup);

        await groups.UpdateHostGroupAsync(new UpdateHostGroupRequest { Name = "vms", DesiredCapacity = 0 }, Admin);

        await TaskTimeouts.WaitUntilAsync(async () =>
            (await groups.DescribeHostGroupsAsync(new DescribeHostGroupsRequest { Names = { "vms" } }, Admin)).HostGroups.Single().Hosts.Count == 0,
            TimeSpan.FromMinutes(3), "the machine terminated");
        Assert.Empty(await ListAsync());
        Assert.NotEqual(0, (await ProcessRunner.RunAsync("docker", ["container", "inspect", machine])).ExitCode);
        Assert.NotEqual(0, (await ProcessRunner.RunAsync("docker", ["volume", "inspect", volume])).ExitCode);
        Assert.False(Directory.Exists("/sys/fs/cgroup/memory" + cgroup), $"the machine's cgroup {cgroup} is left");
        Assert.Empty(await InstancesAsync());
        Assert.Contains(await InstancesAsync("INACTIVE"), i => i.ContainerInstanceArn == host.ContainerInstanceArn);
        var activities = (await groups.DescribeHostGroupActivitiesAsync(new DescribeHostGroupActivitiesRequest { Name = "vms" }, Admin)).Activities;
        Assert.Equal([($"Terminating host: {host.Name}", "Successful"), ($"Launching a new host: {host.Name}", "Successful")], activities.Select(a => (a.Description, a.StatusCode)));
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_scheduler is not null)
        {
            await _scheduler.DisposeAsync();
        }

        // Whatever a failed run left of this pool's machines.
        foreach (var (name, _) in await ListAsync())
        {
            await ProcessRunner.RunAsync(Path.Combine(_scripts, "destroy"), [name], TimeSpan.FromMinutes(2), environment: Environment(), log: output.WriteLine);
        }

        _channel?.Dispose();
        _work.Delete(recursive: true);
    }

    private Dictionary<string, string> Environment() => new() { ["BERTH_MACHINE_POOL"] = _pool };

    /// <summary>The pool's machines as the provisioner's list script reports them.</summary>
    private async Task<List<(string Name, string State)>> ListAsync()
    {
        var list = (await ProcessRunner.RunAsync(Path.Combine(_scripts, "list"), [], TimeSpan.FromSeconds(60), environment: Environment(), log: output.WriteLine)).EnsureSuccess("list");
        return [.. ProvisionerJson.ParseList("list", new ProvisionerOutput(0, list.StandardOutput, list.StandardError)).Select(h => (h.Name, h.State.ToString().ToLowerInvariant()))];
    }

    private async Task<string> InMachineAsync(string machine, params string[] command) =>
        (await ProcessRunner.RunAsync("docker", ["exec", machine, .. command], TimeSpan.FromSeconds(60), log: output.WriteLine)).EnsureSuccess(string.Join(' ', command)).StandardOutput;

    private async Task StartSchedulerAsync(string address, string agent)
    {
        using var listener = new TcpListener(IPAddress.Parse(address), 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var url = $"http://{address}:{port.ToString(CultureInfo.InvariantCulture)}";
        var data = Path.Combine(_work.FullName, "scheduler");
        _scheduler = ServiceProcess.Start("scheduler", LabPlatform.Binary("Scheduler", "Berth.Scheduler.dll"),
        [
            "--urls", url, "--data-dir", data, "--Scheduler:HeartbeatInterval", "00:00:02", "--Logging:LogLevel:Microsoft.AspNetCore", "Warning",
            "--Provisioning:Kind", "exec",
            "--Provisioning:Exec:CreateScript", Path.Combine(_scripts, "create"),
            "--Provisioning:Exec:DestroyScript", Path.Combine(_scripts, "destroy"),
            "--Provisioning:Exec:ListScript", Path.Combine(_scripts, "list"),
            "--Provisioning:Exec:Environment:BERTH_MACHINE_POOL", _pool,
            "--Provisioning:Exec:Environment:BERTH_MACHINE_AGENT", agent,
            "--Provisioning:Exec:Environment:BERTH_MACHINE_IMAGES", TestImages.Busybox,
            "--Provisioning:CreateTimeout", "00:06:00",
            "--Provisioning:RetryBackoff", "00:00:01",
            "--HostGroups:SchedulerUrl", url,
            "--HostGroups:Interval", "00:00:02",
        ], output.WriteLine);
        var tokenFile = Path.Combine(data, "admin-token");
        await TaskTimeouts.WaitUntilAsync(() => Task.FromResult(File.Exists(tokenFile) && new FileInfo(tokenFile).Length > 0), TimeSpan.FromSeconds(60), "the scheduler's tokens");
        _adminToken = (await File.ReadAllTextAsync(tokenFile)).Trim();
        _channel = GrpcChannel.ForAddress(url);
        // The tokens are written before Kestrel listens: wait until the API answers.
        await TaskTimeouts.WaitUntilAsync(async () =>
        {
            try
            {
                await InstancesAsync();
                return true;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Unavailable)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(60), "the scheduler's API");
    }

    /// <summary>The container instances of the default cluster (of <paramref name="status"/>; ACTIVE and DRAINING when empty).</summary>
    private async Task<List<ContainerInstance>> InstancesAsync(string status = "")
    {
        var client = new ContainerInstances.ContainerInstancesClient(_channel);
        ListContainerInstancesResponse list;
        try
        {
            list = await client.ListContainerInstancesAsync(new ListContainerInstancesRequest { Cluster = "default", Status = status }, Admin);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
        {
            // The cluster appears with its first registration.
            return [];
        }

        if (list.ContainerInstanceArns.Count == 0)
        {
            return [];
        }

        return [.. (await client.DescribeContainerInstancesAsync(new DescribeContainerInstancesRequest { Cluster = "default", ContainerInstances = { list.ContainerInstanceArns } }, Admin)).ContainerInstances];
    }

    private async Task<TaskInfo> WaitForTaskAsync(V1.Tasks.TasksClient tasks, string arn, LifecycleStatus status)
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
