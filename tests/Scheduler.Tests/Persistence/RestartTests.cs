using System.Diagnostics;
using Berth.Scheduler.Tests.Infrastructure;
using Berth.Scheduler.V1;
using Berth.TestSupport;
using Grpc.Core;
using Grpc.Net.Client;
using Xunit.Abstractions;

namespace Berth.Scheduler.Tests.Persistence;

public sealed class RestartTests(ITestOutputHelper output) : SchedulerTest(output)
{
    [Fact]
    public async Task Restart_OnTheSameDataDir_KeepsEverythingAcknowledged()
    {
        // Arrange: a bit of everything.
        var admin = Host.AdminToken;
        var agent = await SimulatedAgent.RegisterAsync(Host, "prod", SimulatedAgent.DefaultFacts(zone: "z9"));
        await Host.TaskDefinitions.RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest { TaskDefinitionJson = TaskDefinitionSamples.Web(hostPort: 8080) }, Host.Admin);
        await Host.TaskDefinitions.RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest { TaskDefinitionJson = TaskDefinitionSamples.Web("api") }, Host.Admin);
        await Host.TaskDefinitions.DeregisterTaskDefinitionAsync(new DeregisterTaskDefinitionRequest { TaskDefinition = "api:1" }, Host.Admin);
        await Host.Instances.PutAttributesAsync(new PutAttributesRequest { Cluster = "prod", Attributes = { new TargetedAttribute { Name = "stack", Value = "blue", TargetId = agent.InstanceId } } }, Host.Admin);
        var web = await Host.Tasks.RunTaskAsync(new RunTaskRequest { Cluster = "prod", TaskDefinition = "web", StartedBy = "ci", ClientToken = "tok" }, Host.Admin);
        await Host.TaskDefinitions.RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest { TaskDefinitionJson = TaskDefinitionSamples.Web("dyn") }, Host.Admin);
        var dyn = await Host.Tasks.RunTaskAsync(new RunTaskRequest { Cluster = "prod", TaskDefinition = "dyn", Count = 2 }, Host.Admin);
        await agent.ReportAndWaitAsync(web.Tasks[0].TaskId, LifecycleStatus.Running, r => r.Containers.Add(new ContainerReport { Name = "web", RuntimeId = "abc", LastStatus = LifecycleStatus.Running }));
        await agent.ReportAndWaitAsync(dyn.Tasks[1].TaskId, LifecycleStatus.Stopped, r => r.Containers.Add(new ContainerReport { Name = "web", LastStatus = LifecycleStatus.Stopped, ExitCode = 3 }));
        await Host.Tasks.StopTaskAsync(new StopTaskRequest { Cluster = "prod", Task = dyn.Tasks[0].TaskId, Reason = "later" }, Host.Admin);
        var lastVersion = agent.DesiredSnapshot().Max(d => d.Version);
        var taskIds = web.Tasks.Concat(dyn.Tasks).Select(t => t.TaskId).ToList();
        var before = await SnapshotAsync(taskIds, agent.InstanceId);
        await agent.DisposeAsync();

        // Act
        await RestartAsync();
        var after = await SnapshotAsync(taskIds, agent.InstanceId);

        // Assert: same tokens, same state, same reservations.
        Assert.Equal(admin, Host.AdminToken);
        Assert.Equal(before.Tasks, after.Tasks);
        Assert.Equal(before.Definitions, after.Definitions);
        Assert.Equal(before.Clusters, after.Clusters);
        Assert.Equal(Normalize(before.Instance), Normalize(after.Instance));
        Assert.False(after.Instance.AgentConnected);

        // The agent resumes with its credential; versions keep growing; the desired set is what it was.
        // Its snapshot still has both containers; the scheduler still wants one stopped.
        await using var back = await SimulatedAgent.ResumeAsync(Host, agent.Registration, agent.Facts, snapshot:
        [
            new TaskReport { TaskId = web.Tasks[0].TaskId, Sequence = ulong.MaxValue - 10, LastStatus = LifecycleStatus.Running },
            new TaskReport { TaskId = dyn.Tasks[0].TaskId, Sequence = ulong.MaxValue - 9, LastStatus = LifecycleStatus.Running },
        ]);
        var desired = await back.WaitForDesiredAsync(_ => true);
        Assert.True(desired.Version >= lastVersion, $"version {desired.Version} went below {lastVersion}");
        Assert.Equal(new[] { web.Tasks[0].TaskId, dyn.Tasks[0].TaskId }.Order(), desired.Tasks.Select(t => t.TaskId).Order());
        Assert.Equal(LifecycleStatus.Stopped, desired.Tasks.Single(t => t.TaskId == dyn.Tasks[0].TaskId).DesiredStatus);
        var stopped = await Host.Tasks.StopTaskAsync(new StopTaskRequest { Cluster = "prod", Task = web.Tasks[0].TaskId }, Host.Admin);
        var newer = await back.WaitForDesiredAsync(d => d.Tasks.Any(t => t.TaskId == web.Tasks[0].TaskId && t.DesiredStatus == LifecycleStatus.Stopped));
        Assert.True(newer.Version > desired.Version);

        // The static port is still held: a second copy cannot take it; the idempotency token still answers.
        var second = await Host.Tasks.RunTaskAsync(new RunTaskRequest { Cluster = "prod", TaskDefinition = "web" }, Host.Admin);
        Assert.Equal("RESOURCE:PORTS", Assert.Single(second.Failures).Reason);
        var retry = await Host.Tasks.RunTaskAsync(new RunTaskRequest { Cluster = "prod", TaskDefinition = "web", ClientToken = "tok" }, Host.Admin);
        Assert.Equal(web.Tasks[0].TaskId, Assert.Single(retry.Tasks).TaskId);
        Assert.Equal(LifecycleStatus.Stopped, stopped.Task.DesiredStatus);
    }

    [Fact]
    public async Task Restart_WithStoppedTasks_DescribesListsAndIgnoresReportsForThemAsBefore()
    {
        // Arrange: two tasks stopped by the user and reported STOPPED (desired and last status STOPPED), one running.
        var agent = await SimulatedAgent.RegisterAsync(Host, "prod", SimulatedAgent.DefaultFacts(zone: "z1"));
        await Host.TaskDefinitions.RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest { TaskDefinitionJson = TaskDefinitionSamples.Web("dyn") }, Host.Admin);
        var run = await Host.Tasks.RunTaskAsync(new RunTaskRequest { Cluster = "prod", TaskDefinition = "dyn", Count = 3 }, Host.Admin);
        var ids = run.Tasks.Select(t => t.TaskId).ToList();
        foreach (var id in ids.Take(2))
        {
            await Host.Tasks.StopTaskAsync(new StopTaskRequest { Cluster = "prod", Task = id, Reason = "done" }, Host.Admin);
            await agent.ReportAndWaitAsync(id, LifecycleStatus.Stopped, r => r.Containers.Add(new ContainerReport { Name = "web", LastStatus = LifecycleStatus.Stopped, ExitCode = 0 }));
        }

        var before = (await Host.Tasks.DescribeTasksAsync(new DescribeTasksRequest { Cluster = "prod", Tasks = { ids } }, Host.Admin)).Tasks.ToList();
        Assert.Equal(2, before.Count(t => t.LastStatus == LifecycleStatus.Stopped && t.DesiredStatus == LifecycleStatus.Stopped));
        await agent.DisposeAsync();

        // Act
        await RestartAsync();

        // Assert: describe answers as before (a stopped row is decoded on demand), a STOPPED listing finds both, a
        // running listing does not show them.
        var after = (await Host.Tasks.DescribeTasksAsync(new DescribeTasksRequest { Cluster = "prod", Tasks = { ids } }, Host.Admin)).Tasks.ToList();
        Assert.Equal(before, after);
        var stoppedList = await Host.Tasks.ListTasksAsync(new ListTasksRequest { Cluster = "prod", DesiredStatus = LifecycleStatus.Stopped }, Host.Admin);
        Assert.Equal(ids.Take(2).Order(), stoppedList.TaskArns.Select(a => a[(a.LastIndexOf('/') + 1)..]).Order());
        var running = await Host.Tasks.ListTasksAsync(new ListTasksRequest { Cluster = "prod" }, Host.Admin);
        Assert.Equal(ids[2], running.TaskArns.Select(a => a[(a.LastIndexOf('/') + 1)..]).Single());
    }

    private static ContainerInstance Normalize(ContainerInstance instance)
    {
        var copy = instance.Clone();
        copy.AgentConnected = false;
        copy.LastSeenAt = null;
        copy.AcknowledgedVersion = 0;
        // A restart starts every instance at a version above all sent before it (checked against the agent below).
        copy.DesiredVersion = 0;
        return copy;
    }

    private async Task<(List<TaskInfo> Tasks, List<TaskDefinition> Definitions, List<Cluster> Clusters, ContainerInstance Instance)> SnapshotAsync(List<string> taskIds, string instanceId)
    {
        var tasks = (await Host.Tasks.DescribeTasksAsync(new DescribeTasksRequest { Cluster = "prod", Tasks = { taskIds } }, Host.Admin)).Tasks.ToList();
        var definitions = new List<TaskDefinition>();
        foreach (var reference in new[] { "web:1", "api:1", "dyn:1" })
        {
            definitions.Add((await Host.TaskDefinitions.DescribeTaskDefinitionAsync(new DescribeTaskDefinitionRequest { TaskDefinition = reference }, Host.Admin)).TaskDefinition);
        }

        var clusters = (await Host.Clusters.DescribeClustersAsync(new DescribeClustersRequest { Clusters = { "prod" } }, Host.Admin)).Clusters.ToList();
        var instance = (await Host.Instances.DescribeContainerInstancesAsync(new DescribeContainerInstancesRequest { Cluster = "prod", ContainerInstances = { instanceId } }, Host.Admin)).ContainerInstances.Single();
        Assert.Equal(3, tasks.Count);
        return (tasks, definitions, clusters, instance);
    }
}

/// <summary>kill -9 of a real scheduler process: every acknowledged change is on disk.</summary>
public sealed class CrashTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly TempDirectory _data = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        _data.Delete();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task KillMinus9_AfterAcknowledgedRunTasks_LosesNothing()
    {
        var (process, channel) = await StartProcessAsync();
        string[] acknowledged;
        try
        {
            var admin = Admin();
            var agents = new V1.AgentService.AgentServiceClient(channel);
            var join = File.ReadAllText(Path.Combine(_data.Path, "join-token")).Trim();
            await using var agent = await SimulatedAgent.RegisterAsync(agents, join, facts: SimulatedAgent.DefaultFacts(cpu: 100_000, memory: 100_000));
            await new V1.TaskDefinitions.TaskDefinitionsClient(channel).RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest { TaskDefinitionJson = TaskDefinitionSamples.Web(cpu: 1, memory: 8) }, admin);
            var tasks = new V1.Tasks.TasksClient(channel);
            var runs = await Task.WhenAll(Enumerable.Range(0, 40).Select(_ => tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web", Count = 10 }, admin).ResponseAsync));
            acknowledged = [.. runs.SelectMany(r => r.Tasks).Select(t => t.TaskId)];
        }
        finally
        {
            process.Kill();
            await process.WaitForExitAsync().WithTimeout();
            channel.Dispose();
        }

        (process, channel) = await StartProcessAsync();
        try
        {
            var tasks = new V1.Tasks.TasksClient(channel);
            var found = new List<string>();
            for (var i = 0; i < acknowledged.Length; i += 100)
            {
                var described = await tasks.DescribeTasksAsync(new DescribeTasksRequest { Tasks = { acknowledged.Skip(i).Take(100) } }, Admin());
                found.AddRange(described.Tasks.Select(t => t.TaskId));
                Assert.Empty(described.Failures);
            }

            Assert.Equal(400, acknowledged.Length);
            Assert.Equal(acknowledged.Order(), found.Order());
        }
        finally
        {
            process.Kill();
            await process.WaitForExitAsync().WithTimeout();
            channel.Dispose();
        }
    }

    private CallOptions Admin() => new(SchedulerHost.Bearer(File.ReadAllText(Path.Combine(_data.Path, "admin-token")).Trim()), DateTime.UtcNow.AddSeconds(30));

    private async Task<(Process Process, GrpcChannel Channel)> StartProcessAsync()
    {
        var port = TestPorts.Next();
        var dll = Path.Combine(AppContext.BaseDirectory, "Berth.Scheduler.dll");
        var start = new ProcessStartInfo("dotnet")
        {
            // NORMAL sync: a kill -9 of the process (not of the machine) must lose nothing even without fsync.
            ArgumentList = { dll, "--urls", $"http://127.0.0.1:{port}", "--data-dir", _data.Path, "--Scheduler:FullSync", "false" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, e) => Write(e.Data);
        process.ErrorDataReceived += (_, e) => Write(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
        await TaskTimeouts.WaitUntilAsync(async () =>
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"The scheduler exited with {process.ExitCode}.");
            }

            try
            {
                await new V1.Clusters.ClustersClient(channel).ListClustersAsync(new ListClustersRequest(), Admin());
                return true;
            }
            catch (Exception e) when (e is RpcException or IOException)
            {
                return false;
            }
        }, what: "scheduler process answering");
        return (process, channel);
    }

    private void Write(string? line)
    {
        if (line is null)
        {
            return;
        }

        try
        {
            output.WriteLine(line);
        }
        catch (InvalidOperationException)
        {
            // After the test.
        }
    }
}
