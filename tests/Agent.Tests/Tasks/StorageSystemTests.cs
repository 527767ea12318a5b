using System.Text.Json;
using Berth.Agent.Runtime;
using Berth.Agent.Sessions;
using Berth.Agent.Tasks;
using Berth.Scheduler.V1;
using Berth.TestSupport;
using Xunit.Abstractions;

namespace Berth.Agent.Tests.Tasks;

/// <summary>
/// ECS volumes, mount points and log configuration from a task-definition JSON, through the desired-state mapper and
/// the task engine, onto the real engine: what `docker inspect` says about the created containers, what the
/// containers see, and which volumes outlive the task.
/// </summary>
[Collection(EngineCollection.Name)]
[Trait("Category", "System")]
public sealed class StorageSystemTests(EngineFixture engine, ITestOutputHelper output) : IAsyncLifetime
{
    private readonly string _scope = "test-" + Guid.NewGuid().ToString("N")[..10];
    private readonly DirectoryInfo _state = Directory.CreateTempSubdirectory("berth-agent-state-");
    private readonly DirectoryInfo _hostDir = Directory.CreateTempSubdirectory("berth-bind-");
    private readonly string _shared = "berth-test-shared-" + Guid.NewGuid().ToString("N")[..8];

    [Fact]
    public async Task VolumesMountsAndLogConfiguration_AreAppliedToTheContainers_AndTaskVolumesGoWithTheTask()
    {
        await File.WriteAllTextAsync(Path.Combine(_hostDir.FullName, "hello.txt"), "hello-bind\n");
        await using var agent = new AgentHarness(engine.Runtime, _scope, _state.FullName, output);
        await agent.StartAsync();
        var taskId = "storage-" + Guid.NewGuid().ToString("N")[..8];
        var json = """
            {"family":"storage","volumes":[
                {"name":"config","host":{"sourcePath":"HOST_DIR"}},
                {"name":"scratch"},
                {"name":"cache","dockerVolumeConfiguration":{"scope":"task","driver":"local","labels":{"team":"web"}}},
                {"name":"SHARED","dockerVolumeConfiguration":{"scope":"shared","autoprovision":true}}],
              "containerDefinitions":[
                {"name":"app","image":"IMAGE","memory":32,"entryPoint":["sh","-c"],
                 "command":["cat /config/hello.txt; (touch /config/x 2>/dev/null && echo rw) || echo ro-ok; echo c > /cache/c; echo s > /data/s; echo t > /scratch/t; echo written; trap 'exit 0' TERM; sleep 600 & wait"],
                 "mountPoints":[{"sourceVolume":"config","containerPath":"/config","readOnly":true},{"sourceVolume":"cache","containerPath":"/cache"},
                                {"sourceVolume":"SHARED","containerPath":"/data"},{"sourceVolume":"scratch","containerPath":"/scratch"}],
                 "logConfiguration":{"logDriver":"json-file","options":{"max-size":"1m","max-file":"2"}}},
                {"name":"quiet","image":"IMAGE","memory":32,"essential":false,"entryPoint":["sh","-c"],"command":["trap 'exit 0' TERM; sleep 600 & wait"],
                 "logConfiguration":{"logDriver":"none"}}]}
            """.Replace("HOST_DIR", _hostDir.FullName, StringComparison.Ordinal).Replace("IMAGE", engine.Image, StringComparison.Ordinal).Replace("SHARED", _shared, StringComparison.Ordinal);
        var desired = new DesiredState { Version = 1, Tasks = { new DesiredTask { TaskId = taskId, Cluster = "default", TaskDefinitionArn = "arn:berth:ecs:local:task-definition/storage:1", DesiredStatus = LifecycleStatus.Running } } };
        desired.TaskDefinitions.Add(new TaskDefinitionDocument { TaskDefinitionArn = "arn:berth:ecs:local:task-definition/storage:1", TaskDefinitionJson = json });

        agent.Engine.ApplyDesired(DesiredStateMapper.Map(desired));
        var report = await agent.WaitForAsync(taskId, r => r.Status is LocalStatus.Running or LocalStatus.Stopped);
        Assert.True(report.Status == LocalStatus.Running, AgentHarness.Describe(report));
        var app = report.Containers.Single(c => c.Name == "app").RuntimeId!;
        var quiet = report.Containers.Single(c => c.Name == "quiet").RuntimeId!;

        // What the engine made of it.
        var mounts = (await InspectAsync(app, "{{json .Mounts}}")).EnumerateArray().ToDictionary(m => m.GetProperty("Destination").GetString()!);
        Assert.Equal(("bind", _hostDir.FullName, false), (mounts["/config"].GetProperty("Type").GetString(), mounts["/config"].GetProperty("Source").GetString(), mounts["/config"].GetProperty("RW").GetBoolean()));
        var cacheVolume = mounts["/cache"].GetProperty("Name").GetString()!;
        Assert.Equal(("volume", true), (mounts["/cache"].GetProperty("Type").GetString(), mounts["/cache"].GetProperty("RW").GetBoolean()));
        Assert.Contains(taskId, cacheVolume, StringComparison.Ordinal);
        Assert.Equal(_shared, mounts["/data"].GetProperty("Name").GetString());
        var scratchVolume = mounts["/scratch"].GetProperty("Name").GetString()!;
        Assert.Contains(taskId, scratchVolume, StringComparison.Ordinal);
        var labels = await InspectVolumeAsync(cacheVolume, "{{json .Labels}}");
        Assert.Equal("web", labels.GetProperty("team").GetString());
        Assert.Equal(taskId, labels.GetProperty(ContainerLabels.TaskId).GetString());

        var log = await InspectAsync(app, "{{json .HostConfig.LogConfig}}");
        Assert.Equal("json-file", log.GetProperty("Type").GetString());
        Assert.Equal("1m", log.GetProperty("Config").GetProperty("max-size").GetString());
        Assert.Equal("2", log.GetProperty("Config").GetProperty("max-file").GetString());
        Assert.Equal("none", (await InspectAsync(quiet, "{{json .HostConfig.LogConfig}}")).GetProperty("Type").GetString());

        // What the container saw: the host file, read-only, and writable volumes.
        var lines = new List<string>();
        await TaskTimeouts.WaitUntilAsync(async () =>
        {
            lines.Clear();
            await foreach (var line in engine.Runtime.ReadLogsAsync(app, new LogReadSpec(), CancellationToken.None))
            {
                lines.Add(line.Text);
            }

            return lines.Contains("written");
        }, TimeSpan.FromSeconds(20), "the container's output");
        Assert.Equal(["hello-bind", "ro-ok", "written"], lines);

        // The task goes: its containers and its own volumes are removed; the shared volume stays.
        agent.Engine.ApplyDesired(new DesiredTaskSet(2, []));
        await TaskTimeouts.WaitUntilAsync(async () => !await engine.Runtime.VolumeExistsAsync(cacheVolume, CancellationToken.None) && !await engine.Runtime.VolumeExistsAsync(scratchVolume, CancellationToken.None), TimeSpan.FromSeconds(30), "the task's volumes to be removed");
        Assert.True(await engine.Runtime.VolumeExistsAsync(_shared, CancellationToken.None));
    }

    [Fact]
    public async Task SharedVolumeWithoutAutoprovision_MustExist_OrTheTaskFailsToStart()
    {
        await using var agent = new AgentHarness(engine.Runtime, _scope, _state.FullName, output);
        await agent.StartAsync();
        var task = new TaskSpec
        {
            TaskId = "missing-" + Guid.NewGuid().ToString("N")[..8],
            Cluster = "default",
            TaskDefinition = "storage:2",
            Containers =
            [
                new ContainerSpec
                {
                    Name = "app", Image = engine.Image, EntryPoint = ["sh", "-c"], Command = ["sleep 600"],
                    Mounts = [new MountSpec(MountKind.Volume, _shared, "/data", false) { MustExist = true }],
                },
            ],
        };

        agent.Engine.ApplyDesired(new DesiredTaskSet(1, [task]));
        var report = await agent.WaitForAsync(task.TaskId, r => r.Status == LocalStatus.Stopped);

        Assert.Equal(TaskStopCode.TaskFailedToStart, report.StopCode);
        Assert.Equal($"CannotCreateContainerError: shared volume '{_shared}' does not exist and autoprovision is off", report.Containers[0].Reason);
        Assert.Empty(await agent.ContainersAsync());
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var c in await engine.Runtime.ListContainersAsync(new Dictionary<string, string> { [ContainerLabels.Agent] = _scope }, CancellationToken.None))
        {
            await engine.Runtime.RemoveContainerAsync(c.Id, CancellationToken.None);
        }

        await ProcessRunner.RunAsync("docker", ["volume", "rm", "-f", _shared]);
        _state.Delete(recursive: true);
        _hostDir.Delete(recursive: true);
    }

    private static async Task<JsonElement> InspectAsync(string container, string format) =>
        JsonDocument.Parse((await ProcessRunner.RunAsync("docker", ["inspect", "--format", format, container])).EnsureSuccess("docker inspect").StandardOutput).RootElement.Clone();

    private static async Task<JsonElement> InspectVolumeAsync(string volume, string format) =>
        JsonDocument.Parse((await ProcessRunner.RunAsync("docker", ["volume", "inspect", "--format", format, volume])).EnsureSuccess("docker volume inspect").StandardOutput).RootElement.Clone();
}
