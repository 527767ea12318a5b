using System.Collections.Immutable;
using Berth.Core.TaskDefinitions;
using Berth.Scheduler.Placement;
using Berth.Scheduler.State;
using Berth.Scheduler.Tests.Infrastructure;
using Berth.Scheduler.V1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace Berth.Scheduler.Tests.State;

/// <summary>
/// A task loaded at start-up keeps its stored bytes and decodes its details on first use (TaskRecord.StoredInfo):
/// what it answers must be what the stored message says, exactly as an eager decode gave it, and two threads using it
/// first at once must see one decode.
/// </summary>
public sealed class LazyTaskDetailsTests
{
    private static readonly TaskDefinitionRecord s_definition = Definition();

    [Fact]
    public void DetailsDecodedOnFirstUse_EqualTheStoredMessage()
    {
        var stored = StoredInfo(seed: 7);
        var task = Loaded(stored);

        Assert.True(task.DetailsPending);
        var info = SchedulerState.ToInfo(task, withArns: false);
        Assert.False(task.DetailsPending);

        // The record re-encodes to the message it was loaded from, every detail field included.
        Assert.Equal(stored, info);
        Assert.Equal(stored.StartedAt.ToDateTimeOffset(), task.StartedAt);
        Assert.Null(task.StoppingAt);
        Assert.Equal("web", Assert.Single(task.Containers, c => c.Essential).Name);
    }

    [Fact]
    public void StoredHead_ReadsWhatProtobufReads()
    {
        var stored = StoredInfo(seed: 3);
        var head = StoredTaskHead.Read(stored.ToByteArray());

        Assert.Equal(new StoredTaskHead(stored.TaskDefinitionArn, stored.Group, stored.Cpu, stored.Memory), head);
        Assert.Equal(new StoredTaskHead("", "", 0, 0), StoredTaskHead.Read([]));
    }

    [Fact]
    public void ChangeAfterLoad_IsKeptAndNotOverwrittenByTheStoredValue()
    {
        var task = Loaded(StoredInfo(seed: 1));
        var stoppedAt = DateTimeOffset.FromUnixTimeMilliseconds(1_800_000_000_000);

        task.StoppedAt = stoppedAt;
        task.Version++;

        Assert.Equal(stoppedAt, task.StoppedAt);
        Assert.Equal(StoredInfo(seed: 1).Version + 1, task.Version);
    }

    [Fact]
    public void NewTask_HasTheDefaultsOfARecordWithoutStoredBytes()
    {
        var task = new TaskRecord
        {
            Id = "t",
            Cluster = "c",
            InstanceId = "i",
            Definition = s_definition,
            Group = "g",
            Ports = [],
            Reservation = new TaskReservation(0, 0, [], "g"),
        };

        Assert.False(task.DetailsPending);
        Assert.Equal(("", "EC2", "", 1L), (task.StartedBy, task.LaunchType, task.StoppedReason, task.Version));
        Assert.Empty(task.Containers);
        Assert.Null(task.Overrides);
    }

    [Fact]
    public async Task ConcurrentFirstUse_DecodesEachTaskOnce()
    {
        const int Threads = 8;
        var tasks = Enumerable.Range(0, 2_000).Select(i => Loaded(StoredInfo(i))).ToList();
        using var start = new Barrier(Threads);

        // Every thread reads every task's details at once, starting with a different property; each records the
        // container list it saw. One decode means one list per task, whoever got there first.
        var seen = await Task.WhenAll(Enumerable.Range(0, Threads).Select(t => Task.Run(() =>
        {
            start.SignalAndWait();
            return tasks.Select(task =>
            {
                if (t % 2 == 0)
                {
                    return (task.Containers, task.Version);
                }

                var version = task.Version;
                return (task.Containers, Version: version);
            }).ToList();
        })));

        for (var i = 0; i < tasks.Count; i++)
        {
            var first = seen[0][i];
            Assert.All(seen, s => Assert.Same(first.Containers, s[i].Containers));
            Assert.All(seen, s => Assert.Equal(StoredInfo(i).Version, s[i].Version));
            Assert.Equal(StoredInfo(i), SchedulerState.ToInfo(tasks[i], withArns: false));
            Assert.False(tasks[i].DetailsPending);
        }
    }

    private static TaskRecord Loaded(TaskInfo stored) => new()
    {
        Id = stored.TaskId,
        Cluster = stored.Cluster,
        InstanceId = stored.ContainerInstanceId,
        Definition = s_definition,
        Group = stored.Group,
        Ports = [new PortBinding("web", 80, 30000, TransportProtocol.Tcp)],
        Reservation = new TaskReservation(stored.Cpu, stored.Memory, [new HostPort(30000, TransportProtocol.Tcp)], stored.Group),
        DesiredStatus = stored.DesiredStatus,
        LastStatus = stored.LastStatus,
        StoredInfo = stored.ToByteArray(),
    };

    /// <summary>A stored task message with every field the record keeps set, varied by the seed.</summary>
    private static TaskInfo StoredInfo(int seed)
    {
        var at = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000 + seed);
        var info = new TaskInfo
        {
            TaskId = $"task-{seed}",
            Cluster = "prod",
            TaskDefinitionArn = s_definition.Arn,
            ContainerInstanceId = "instance-1",
            DesiredStatus = LifecycleStatus.Stopped,
            LastStatus = LifecycleStatus.Running,
            Group = "family:web",
            StartedBy = seed % 2 == 0 ? "ci" : "",
            LaunchType = "EC2",
            Cpu = 256 + seed,
            Memory = 512,
            StopCode = StopCode.UserInitiated,
            StoppedReason = $"stopped by test {seed}",
            HealthStatus = HealthStatus.Healthy,
            CreatedAt = Timestamp.FromDateTimeOffset(at),
            StartedAt = Timestamp.FromDateTimeOffset(at.AddSeconds(1)),
            StoppedAt = seed % 3 == 0 ? Timestamp.FromDateTimeOffset(at.AddSeconds(2)) : null,
            LastReportedAt = Timestamp.FromDateTimeOffset(at.AddSeconds(3)),
            Version = 3 + seed,
            Overrides = new TaskOverride
            {
                ContainerOverrides =
                {
                    new ContainerOverride { Name = "web", Command = { "run", $"{seed}" }, CommandSet = true, Environment = { new EnvironmentVariable { Name = "A", Value = "b" } } },
                },
            },
        };
        info.Containers.Add(new Container
        {
            Name = "web",
            Image = "registry.local/web:1",
            LastStatus = LifecycleStatus.Running,
            RuntimeId = $"runtime-{seed}",
            Essential = true,
            NetworkBindings = { new NetworkBinding { ContainerPort = 80, HostPort = 30000, Protocol = "tcp" } },
        });
        if (seed % 5 == 0)
        {
            info.Containers[0].ExitCode = 3;
        }

        info.Containers.Add(new Container { Name = "sidecar", Image = "registry.local/sidecar:2", LastStatus = LifecycleStatus.Pending });
        return info;
    }

    private static TaskDefinitionRecord Definition()
    {
        var definition = TaskDefinitionJson.Parse(TaskDefinitionSamples.Web());
        return new TaskDefinitionRecord
        {
            Family = "web",
            Revision = 1,
            Definition = definition,
            Json = TaskDefinitionSamples.Web(),
            Requirements = SchedulerState.RequirementsOf(definition),
            Arn = Arns.TaskDefinition("web", 1),
        };
    }
}
