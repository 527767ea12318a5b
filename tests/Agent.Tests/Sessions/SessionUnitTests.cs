using Berth.Agent.Configuration;
using Berth.Agent.Runtime;
using Berth.Agent.Sessions;
using Berth.Agent.Tasks;
using Berth.Core.Resilience;
using Berth.Scheduler.V1;

namespace Berth.Agent.Tests.Sessions;

public sealed class SessionUnitTests
{
    [Fact]
    public void Backoff_GrowsFrom250MsTo2Minutes_WithJitter_AndResets()
    {
        var backoff = new ReconnectBackoff(new Random(7), SessionClient.MaxReconnectDelay);
        var delays = Enumerable.Range(0, 15).Select(_ => backoff.Next()).ToList();

        Assert.InRange(delays[0].TotalMilliseconds, 125, 250);
        Assert.InRange(delays[1].TotalMilliseconds, 250, 500);
        Assert.All(delays, d => Assert.True(d <= backoff.Max));
        Assert.InRange(delays[^1].TotalSeconds, 60, 120);
        Assert.True(delays.Distinct().Count() == delays.Count, "jitter makes delays differ");
        backoff.Reset();
        Assert.InRange(backoff.Next().TotalMilliseconds, 125, 250);
    }

    [Fact]
    public void LogRequests_WithOptions_TakeTailZeroAsNone_AndWithoutThemKeepTheOldMeaning()
    {
        var legacy = SessionClient.LogQueryOf(new LogStreamRequest { TaskId = "t", ContainerName = "c", Tail = 0, Follow = true });
        Assert.Equal((null, true), (legacy.Tail, legacy.Follow));
        Assert.Equal(5, SessionClient.LogQueryOf(new LogStreamRequest { TaskId = "t", ContainerName = "c", Tail = 5 }).Tail);

        var none = SessionClient.LogQueryOf(new LogStreamRequest { TaskId = "t", ContainerName = "c", Options = new LogReadOptions { Tail = 0 } });
        Assert.Equal(0, none.Tail);
        var since = DateTimeOffset.Parse("2026-12-03T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture);
        var all = SessionClient.LogQueryOf(new LogStreamRequest
        {
            TaskId = "t",
            ContainerName = "c",
            Tail = 3,
            Options = new LogReadOptions { Since = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(since) },
        });
        Assert.Equal((null, since), (all.Tail, all.Since));
    }

    [Fact]
    public void ImageDigests_ComeFromTheContainersOwnRepository_NeverAnothers()
    {
        string[] repoDigests = ["127.0.0.1:5000/team/app@sha256:aaa", "busybox@sha256:bbb"];
        Assert.Equal("sha256:aaa", ImageDigestResolver.Pick(repoDigests, ImageDigestResolver.RepositoryOf("127.0.0.1:5000/team/app:1")));
        Assert.Equal("sha256:bbb", ImageDigestResolver.Pick(repoDigests, ImageDigestResolver.RepositoryOf("docker.io/library/busybox:1")));
        Assert.Null(ImageDigestResolver.Pick(repoDigests, ImageDigestResolver.RepositoryOf("127.0.0.1:5000/team/other:1")));
        Assert.Equal("team/app", ImageDigestResolver.RepositoryOf("team/app@sha256:ccc"));
    }

    [Fact]
    public void DesiredState_MapsEcsDefinitionsAssignmentsAndOverrides()
    {
        var desired = new DesiredState { Version = 9, ContainerInstanceId = "ci-1" };
        desired.TaskDefinitions.Add(new TaskDefinitionDocument
        {
            TaskDefinitionArn = "arn:berth:ecs:local:task-definition/web:4",
            TaskDefinitionJson = """
                {"family":"web","cpu":"512","containerDefinitions":[
                  {"name":"init","image":"busybox:1","essential":false,"command":["true"]},
                  {"name":"app","image":"reg:5000/app:2","cpu":256,"memory":128,"memoryReservation":64,
                   "portMappings":[{"containerPort":80},{"containerPort":53,"protocol":"udp","hostPort":5353}],
                   "environment":[{"name":"A","value":"1"},{"name":"B","value":"2"}],
                   "dependsOn":[{"containerName":"init","condition":"SUCCESS"}],
                   "healthCheck":{"command":["CMD-SHELL","true"],"interval":10,"retries":2},
                   "stopTimeout":7}]}
                """,
        });
        var task = new DesiredTask { TaskId = "t1", TaskArn = "arn:t1", Cluster = "prod", TaskDefinitionArn = "arn:berth:ecs:local:task-definition/web:4", DesiredStatus = LifecycleStatus.Running, EnableExecuteCommand = true };
        task.PortAssignments.Add(new PortAssignment { ContainerName = "app", ContainerPort = 80, Protocol = "tcp", HostPort = 49201 });
        var o = new ContainerOverride { Name = "app" };
        o.Environment.Add(new EnvironmentVariable { Name = "B", Value = "override" });
        task.Overrides = new TaskOverride();
        task.Overrides.ContainerOverrides.Add(o);
        desired.Tasks.Add(task);
        desired.Tasks.Add(new DesiredTask { TaskId = "t2", TaskDefinitionArn = "missing", DesiredStatus = LifecycleStatus.Stopped, StopCode = StopCode.UserInitiated, StoppedReason = "bye" });

        var set = DesiredStateMapper.Map(desired);

        Assert.Equal(9, set.Version);
        var t1 = set.Tasks[0];
        Assert.Equal(("web:4", "prod", 512), (t1.TaskDefinition, t1.Cluster, t1.CpuLimit));
        Assert.True(t1.EnableExecuteCommand);
        var app = t1.Containers[1];
        Assert.False(t1.Containers[0].Essential);
        Assert.Equal([new PortBindingSpec(80, "tcp", 49201), new PortBindingSpec(53, "udp", 5353)], app.Ports);
        Assert.Equal("override", app.Environment["B"]);
        Assert.Equal("1", app.Environment["A"]);
        Assert.Equal(("init", DependencyCondition.Success), Assert.Single(app.DependsOn));
        Assert.Equal((256, (int?)128, (int?)64), (app.Cpu, app.Memory, app.MemoryReservation));
        Assert.Equal(TimeSpan.FromSeconds(10), app.HealthCheck!.Interval);
        Assert.Equal(2, app.HealthCheck.Retries);
        Assert.Equal(TimeSpan.FromSeconds(5), app.HealthCheck.Timeout);
        Assert.Equal(TimeSpan.FromSeconds(7), app.StopTimeout);
        var t2 = set.Tasks[1];
        Assert.False(t2.DesiredRunning);
        Assert.False(t2.EnableExecuteCommand);
        Assert.Equal((TaskStopCode.UserInitiated, "bye"), (t2.StopCode, t2.StoppedReason));
        Assert.StartsWith("CannotParseTaskDefinition", t2.InvalidReason, StringComparison.Ordinal);
    }

    [Fact]
    public void Report_MapsToTheProtocol()
    {
        var report = new TaskStatusReport("t1", 42, LocalStatus.Stopped,
            [new ContainerStatusReport("app", "c1", LocalStatus.Stopped, 3, "boom", [new HostPortBinding(80, "tcp", 49201)], ContainerHealth.Unhealthy, "registry:5000/app:1", "sha256:abc")],
            TaskStopCode.EssentialContainerExited, "Essential container in task exited", TaskHealth.Unhealthy, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch.AddSeconds(5));

        var proto = ReportMapper.Map(report);

        Assert.Equal((42ul, LifecycleStatus.Stopped, StopCode.EssentialContainerExited), (proto.Sequence, proto.LastStatus, proto.StopCode));
        Assert.Equal(3, proto.Containers[0].ExitCode);
        Assert.Equal(49201, proto.Containers[0].NetworkBindings[0].HostPort);
        Assert.Equal(HealthStatus.Unhealthy, proto.HealthStatus);
        // The digest the engine resolved, not the image's name (task list -o json printed the name as imageDigest).
        Assert.Equal("sha256:abc", proto.Containers[0].ImageDigest);
    }

    [Fact]
    public void HostFacts_AreEngineResourcesMinusReservations()
    {
        var info = new EngineInfo("id", "host", 2, 4L * 1024 * 1024 * 1024, "20.10.24", "Debian", "x86_64", "/var/lib/docker");
        var options = new AgentOptions { ReservedCpu = 256, ReservedMemory = 512, Zone = "z1", InstanceType = "lab.small", Attributes = new() { ["team"] = "web" } };

        var facts = HostFactsProvider.Compute(info, options);

        Assert.Equal((2048 - 256, 4096 - 512), (facts.Cpu, facts.Memory));
        Assert.Equal(("z1", "lab.small", "20.10.24"), (facts.Zone, facts.InstanceType, facts.RuntimeVersion));
        Assert.Equal("team", Assert.Single(facts.Attributes).Name);
        Assert.Contains(22, facts.ReservedPorts);
        Assert.Equal("", facts.AdvertiseAddress);
    }

    [Fact]
    public void AdvertiseAddress_GoesWithTheFacts_AndOneThatIsNoIpAddressFailsValidation()
    {
        var info = new EngineInfo("id", "host", 2, 4L * 1024 * 1024 * 1024, "20.10.24", "Debian", "x86_64", "/var/lib/docker");
        var options = new AgentOptions { SchedulerUrl = new Uri("http://10.0.0.1:7070"), AdvertiseAddress = "10.0.0.11" };

        Assert.Equal("10.0.0.11", HostFactsProvider.Compute(info, options).AdvertiseAddress);
        Assert.True(new AgentOptionsValidator().Validate(null, options).Succeeded);

        options.AdvertiseAddress = "host-a.lab";
        var result = new AgentOptionsValidator().Validate(null, options);
        Assert.True(result.Failed);
        Assert.Contains("AdvertiseAddress must be an IP address, not 'host-a.lab'.", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Identity_SurvivesInTheDataDirectory_Privately()
    {
        var dir = Directory.CreateTempSubdirectory("berth-state-");
        try
        {
            // An older agent's directory: world-readable, with a world-readable identity in it.
            File.SetUnixFileMode(dir.FullName, (UnixFileMode)0b111_101_101);
            File.WriteAllText(Path.Combine(dir.FullName, AgentDataDirectory.InstanceFile), "{}");
            File.SetUnixFileMode(Path.Combine(dir.FullName, AgentDataDirectory.InstanceFile), (UnixFileMode)0b110_100_100);

            var data = AgentDataDirectory.Open(dir.FullName);
            new InstanceIdentity("ci-1", "arn:ci-1", "secret", "default").Save(data);

            Assert.Equal("secret", InstanceIdentity.Load(data)!.Credential);
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(dir.FullName));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(data.Instance));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
