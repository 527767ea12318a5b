using Berth.Core.TaskDefinitions;
using Berth.Scheduler.Tests.Infrastructure;
using Berth.Scheduler.V1;
using Berth.TestSupport;
using Grpc.Core;
using Xunit.Abstractions;

namespace Berth.Scheduler.Tests.Sessions;

public sealed class AgentProtocolTests(ITestOutputHelper output) : SchedulerTest(output)
{
    private async Task<TaskInfo> RunOneAsync(string family = "web")
    {
        await Host.TaskDefinitions.RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest { TaskDefinitionJson = TaskDefinitionSamples.Web(family) }, Host.Admin);
        return (await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = family }, Host.Admin)).Tasks.Single();
    }

    private async Task<TaskInfo> DescribeAsync(string taskId) =>
        (await Host.Tasks.DescribeTasksAsync(new DescribeTasksRequest { Tasks = { taskId } }, Host.Admin)).Tasks.Single();

    [Fact]
    public async Task Session_StartsWithAcceptedAndTheCurrentDesiredState()
    {
        await using var agent = await SimulatedAgent.RegisterAsync(Host);

        var first = await agent.WaitForDesiredAsync(_ => true);

        Assert.Equal(agent.InstanceId, agent.Accepted!.ContainerInstanceId);
        Assert.True(agent.Accepted.HeartbeatIntervalMs > 0);
        Assert.Equal(agent.InstanceId, first.ContainerInstanceId);
        Assert.Equal(ContainerInstanceStatus.Active, first.InstanceStatus);
        Assert.Empty(first.Tasks);
        Assert.True(first.Version > 0);
    }

    [Fact]
    public async Task RunTask_DeliversTheCompleteSetWithDefinitionAndPorts()
    {
        await using var agent = await SimulatedAgent.RegisterAsync(Host);
        var firstTask = await RunOneAsync();
        var secondTask = (await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web" }, Host.Admin)).Tasks.Single();

        var desired = await agent.WaitForDesiredAsync(d => d.Tasks.Count == 2, "both tasks");

        var delivered = desired.Tasks.Single(t => t.TaskId == firstTask.TaskId);
        Assert.Equal(LifecycleStatus.Running, delivered.DesiredStatus);
        Assert.Equal(firstTask.TaskDefinitionArn, delivered.TaskDefinitionArn);
        var port = Assert.Single(delivered.PortAssignments);
        Assert.Equal(("web", 80, "tcp"), (port.ContainerName, port.ContainerPort, port.Protocol));
        Assert.Equal(firstTask.Containers[0].NetworkBindings[0].HostPort, port.HostPort);
        // One definition document for both tasks, parseable by the agent with Core.
        var document = Assert.Single(desired.TaskDefinitions);
        var parsed = TaskDefinitionJson.ParseStored(document.TaskDefinitionJson);
        Assert.Equal("registry.local/web:1", parsed.ContainerDefinitions![0].Image);
        // Versions only grow.
        var versions = agent.DesiredHistory.Select(d => d.Version).ToList();
        Assert.Equal(versions.Order(), versions);
        Assert.Equal(versions.Distinct().Count(), versions.Count);
        Assert.Contains(desired.Tasks, t => t.TaskId == secondTask.TaskId);
    }

    [Fact]
    public async Task Reports_UpdateTheTask_AndOldSequencesAreIgnored()
    {
        await using var agent = await SimulatedAgent.RegisterAsync(Host);
        var task = await RunOneAsync();
        await agent.WaitForDesiredAsync(d => d.Tasks.Count == 1);

        var running = await agent.ReportAndWaitAsync(task.TaskId, LifecycleStatus.Running, r =>
        {
            r.HealthStatus = HealthStatus.Healthy;
            r.Containers.Add(new ContainerReport { Name = "web", RuntimeId = "c0ffee", LastStatus = LifecycleStatus.Running, HealthStatus = HealthStatus.Healthy, NetworkBindings = { new NetworkBinding { ContainerPort = 80, HostPort = 49200, Protocol = "tcp" } } });
        });
        var afterRunning = await DescribeAsync(task.TaskId);
        // A resend of an older report (lower sequence) must not move the task back.
        await agent.ReportAndWaitAsync(task.TaskId, LifecycleStatus.Pending, sequence: running.Sequence - 1);
        var afterStale = await DescribeAsync(task.TaskId);

        Assert.Equal(LifecycleStatus.Running, afterRunning.LastStatus);
        Assert.Equal(HealthStatus.Healthy, afterRunning.HealthStatus);
        Assert.NotNull(afterRunning.StartedAt);
        Assert.Equal("c0ffee", afterRunning.Containers[0].RuntimeId);
        Assert.Equal(49200, afterRunning.Containers[0].NetworkBindings[0].HostPort);
        Assert.Equal(LifecycleStatus.Running, afterStale.LastStatus);
        Assert.Equal(afterRunning.Version, afterStale.Version);
    }

    [Fact]
    public async Task EssentialContainerExit_StopsTheTaskWithExitCode_AndItLeavesTheDesiredSet()
    {
        await using var agent = await SimulatedAgent.RegisterAsync(Host);
        var task = await RunOneAsync();
        var withTask = await agent.WaitForDesiredAsync(d => d.Tasks.Count == 1);

        await agent.ReportAndWaitAsync(task.TaskId, LifecycleStatus.Stopped, r =>
        {
            r.StopCode = StopCode.EssentialContainerExited;
            r.StoppedReason = "Essential container in task exited";
            r.Containers.Add(new ContainerReport { Name = "web", LastStatus = LifecycleStatus.Stopped, ExitCode = 137, Reason = "OOMKilled" });
        });
        var stopped = await DescribeAsync(task.TaskId);
        var without = await agent.WaitForDesiredAsync(d => d.Version > withTask.Version && d.Tasks.Count == 0, "set without the stopped task");

        Assert.Equal(LifecycleStatus.Stopped, stopped.LastStatus);
        Assert.Equal(LifecycleStatus.Stopped, stopped.DesiredStatus);
        Assert.Equal(StopCode.EssentialContainerExited, stopped.StopCode);
        Assert.Equal("Essential container in task exited", stopped.StoppedReason);
        Assert.Equal(137, stopped.Containers[0].ExitCode);
        Assert.Equal("OOMKilled", stopped.Containers[0].Reason);
        Assert.NotNull(stopped.StoppedAt);
        Assert.Empty(without.Tasks);
    }

    [Fact]
    public async Task StopTask_ReachesTheAgentAsDesiredStopped()
    {
        await using var agent = await SimulatedAgent.RegisterAsync(Host);
        var task = await RunOneAsync();

        await Host.Tasks.StopTaskAsync(new StopTaskRequest { Task = task.TaskId, Reason = "bye" }, Host.Admin);
        var desired = await agent.WaitForDesiredAsync(d => d.Tasks.Any(t => t.TaskId == task.TaskId && t.DesiredStatus == LifecycleStatus.Stopped));

        var entry = desired.Tasks.Single();
        Assert.Equal("bye", entry.StoppedReason);
        Assert.Equal(StopCode.UserInitiated, entry.StopCode);
    }

    [Fact]
    public async Task Reconnect_FullSnapshotWithoutAStoppingTask_MarksItStopped()
    {
        var agent = await SimulatedAgent.RegisterAsync(Host);
        var task = await RunOneAsync();
        await agent.WaitForDesiredAsync(d => d.Tasks.Count == 1);
        await agent.DisposeAsync();
        await Host.Tasks.StopTaskAsync(new StopTaskRequest { Task = task.TaskId }, Host.Admin);

        // The agent comes back with nothing (its containers are gone): what should stop is stopped.
        await using var back = await SimulatedAgent.ResumeAsync(Host, agent.Registration, agent.Facts, snapshot: []);
        await TaskTimeouts.WaitUntilAsync(async () => (await DescribeAsync(task.TaskId)).LastStatus == LifecycleStatus.Stopped, what: "task stopped");

        await back.WaitForDesiredAsync(d => d.Tasks.Count == 0);
    }

    [Fact]
    public async Task Reconnect_KeepsRunningTasksInTheDesiredSet_AndReportsUnknownTasks()
    {
        var agent = await SimulatedAgent.RegisterAsync(Host);
        var task = await RunOneAsync();
        await agent.WaitForDesiredAsync(d => d.Tasks.Count == 1);
        await agent.DisposeAsync();

        await using var back = await SimulatedAgent.ResumeAsync(Host, agent.Registration, agent.Facts, snapshot:
        [
            new TaskReport { TaskId = task.TaskId, Sequence = 10, LastStatus = LifecycleStatus.Running },
            new TaskReport { TaskId = "feedfacefeedfacefeedfacefeedface", Sequence = 11, LastStatus = LifecycleStatus.Running },
        ]);
        var desired = await back.WaitForDesiredAsync(d => d.Tasks.Count == 1);
        await TaskTimeouts.WaitUntilAsync(() => Task.FromResult(back.Acks.Count > 0), what: "snapshot ack");

        Assert.Equal(task.TaskId, desired.Tasks[0].TaskId);
        Assert.Equal(["feedfacefeedfacefeedfacefeedface"], back.Acks[0].UnknownTaskIds);
        Assert.Equal(11UL, back.Acks[0].Sequence);
        Assert.Equal(LifecycleStatus.Running, (await DescribeAsync(task.TaskId)).LastStatus);
    }

    [Fact]
    public async Task NewSession_ReplacesTheOldOne()
    {
        var first = await SimulatedAgent.RegisterAsync(Host);

        await using var second = await SimulatedAgent.ResumeAsync(Host, first.Registration, first.Facts);
        var ended = await first.WaitForEndAsync();
        var task = await RunOneAsync();

        Assert.NotEqual(StatusCode.PermissionDenied, ended.StatusCode);
        await second.WaitForDesiredAsync(d => d.Tasks.Any(t => t.TaskId == task.TaskId));
        var instance = (await Host.Instances.DescribeContainerInstancesAsync(new DescribeContainerInstancesRequest { ContainerInstances = { first.InstanceId } }, Host.Admin)).ContainerInstances[0];
        Assert.True(instance.AgentConnected);
        await first.DisposeAsync();
    }

    [Fact]
    public async Task FirstMessageNotHello_IsInvalidArgument()
    {
        await using var agent = await SimulatedAgent.RegisterAsync(Host, connect: false);
        using var call = Host.Agents.Session(SchedulerHost.Bearer(agent.Registration.InstanceCredential));

        await call.RequestStream.WriteAsync(new AgentMessage { Heartbeat = new Heartbeat() });
        var e = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None));

        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
    }

    [Fact]
    public async Task HeartbeatsAndDesiredStateAcks_AreRecorded()
    {
        await using var agent = await SimulatedAgent.RegisterAsync(Host);
        var desired = await agent.WaitForDesiredAsync(_ => true);

        await agent.SendAsync(new AgentMessage { DesiredStateAck = new DesiredStateAck { Version = desired.Version } });
        await agent.HeartbeatAsync();

        await TaskTimeouts.WaitUntilAsync(async () =>
        {
            var instance = (await Host.Instances.DescribeContainerInstancesAsync(new DescribeContainerInstancesRequest { ContainerInstances = { agent.InstanceId } }, Host.Admin)).ContainerInstances[0];
            return instance.AcknowledgedVersion == desired.Version && instance.LastSeenAt is not null;
        }, what: "acknowledged version recorded");
    }
}

public sealed class SilentAgentTests(ITestOutputHelper output) : SchedulerTest(output)
{
    private protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Scheduler:HeartbeatInterval"] = "00:00:00.200",
    };

    [Fact]
    public async Task SilentAgent_IsDisconnected_AfterMissedHeartbeats_AndHeartbeatsFlow()
    {
        await using var agent = await SimulatedAgent.RegisterAsync(Host);

        var status = await agent.WaitForEndAsync();
        var instance = (await Host.Instances.DescribeContainerInstancesAsync(new DescribeContainerInstancesRequest { ContainerInstances = { agent.InstanceId } }, Host.Admin)).ContainerInstances[0];

        Assert.Equal(StatusCode.OK, status.StatusCode);
        Assert.False(instance.AgentConnected);
    }

    [Fact]
    public async Task TalkingAgent_StaysConnected_AndReceivesHeartbeats()
    {
        await using var agent = await SimulatedAgent.RegisterAsync(Host);
        var heartbeats = 0;
        for (var i = 0; i < 10; i++)
        {
            await agent.HeartbeatAsync();
            await Task.Delay(150);
        }

        heartbeats = agent.HeartbeatsReceived;
        Assert.Null(agent.EndStatus);
        Assert.True(heartbeats >= 3, $"only {heartbeats} heartbeats");
    }
}
