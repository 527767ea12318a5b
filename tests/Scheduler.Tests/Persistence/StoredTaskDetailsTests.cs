using Berth.Core.TaskDefinitions;
using Berth.Scheduler.Kernel;
using Berth.Scheduler.Persistence;
using Berth.Scheduler.Placement;
using Berth.Scheduler.Tests.Infrastructure;

namespace Berth.Scheduler.Tests.Persistence;

/// <summary>
/// A task loaded at start-up keeps its stored details document and decodes it on first use (TaskRecord.StoredDetails,
/// with the store's decoder): what it answers must be what the document says, the document must re-encode to the same
/// bytes, and two threads using it first at once must see one decode.
/// </summary>
public sealed class StoredTaskDetailsTests
{
    public StoredTaskDetailsTests() => TaskRecord.StoredDetailsDecoder = StoredForm.DecodeDetails;

    private static readonly TaskDefinitionRecord s_definition = Definition();

    [Fact]
    public void DetailsDecodedOnFirstUse_EqualTheStoredDocument()
    {
        var stored = StoredDocuments.Encode(StoredForm.ToDocument(Details(seed: 7)));
        var task = Loaded(stored);

        Assert.True(task.DetailsPending);
        var decoded = task.Details;
        Assert.False(task.DetailsPending);

        // The details re-encode to the document they were loaded from, every field included.
        Assert.Equal(stored, StoredDocuments.Encode(StoredForm.ToDocument(decoded)));
        Assert.Equal(Details(seed: 7).StartedAt, task.StartedAt);
        Assert.Null(task.StoppingAt);
        Assert.Equal("web", Assert.Single(task.Containers, c => c.Essential).Name);
        Assert.Equal(["run", "7"], task.Overrides!.ContainerOverrides[0].Command.ToArray());
        Assert.Equal(3, task.Containers[0].ExitCode);
    }

    [Fact]
    public void Document_KeepsTheDifferenceBetweenNoOverridesAndEmptyOnes()
    {
        var none = Details(seed: 1);
        none.Overrides = null;
        var empty = Details(seed: 1);
        empty.Overrides = new TaskOverrides([]);

        Assert.Null(Loaded(StoredDocuments.Encode(StoredForm.ToDocument(none))).Overrides);
        Assert.Empty(Loaded(StoredDocuments.Encode(StoredForm.ToDocument(empty))).Overrides!.ContainerOverrides);
    }

    [Fact]
    public void DocumentOfAnotherSchema_IsRefused()
    {
        var task = Loaded("""{"v":2,"ver":1}"""u8.ToArray());

        Assert.Throws<InvalidDataException>(() => task.Version);
    }

    [Fact]
    public void ChangeAfterLoad_IsKeptAndNotOverwrittenByTheStoredValue()
    {
        var task = Loaded(StoredDocuments.Encode(StoredForm.ToDocument(Details(seed: 1))));
        var stoppingAt = DateTimeOffset.FromUnixTimeMilliseconds(1_800_000_000_000);

        task.StoppingAt = stoppingAt;
        task.Version++;

        Assert.Equal(stoppingAt, task.StoppingAt);
        Assert.Equal(Details(seed: 1).Version + 1, task.Version);
    }

    [Fact]
    public void NewTask_HasTheDefaultsOfARecordWithoutStoredDetails()
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
        var tasks = Enumerable.Range(0, 2_000).Select(i => Loaded(StoredDocuments.Encode(StoredForm.ToDocument(Details(i))))).ToList();
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
            Assert.All(seen, s => Assert.Equal(Details(i).Version, s[i].Version));
            Assert.False(tasks[i].DetailsPending);
        }
    }

    private static TaskRecord Loaded(byte[] stored) => new()
    {
        Id = "task",
        Cluster = "prod",
        InstanceId = "instance-1",
        Definition = s_definition,
        Group = "family:web",
        Ports = [new PortBinding("web", 80, 30000, TransportProtocol.Tcp)],
        Reservation = new TaskReservation(256, 512, [new HostPort(30000, TransportProtocol.Tcp)], "family:web"),
        DesiredStatus = LifecycleStatus.Stopped,
        LastStatus = LifecycleStatus.Running,
        StoredDetails = stored,
    };

    /// <summary>Details with every field set, varied by the seed.</summary>
    private static TaskDetails Details(int seed)
    {
        var at = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000 + seed).AddTicks(1234);
        var details = new TaskDetails
        {
            StartedBy = seed % 2 == 0 ? "ci" : "",
            LaunchType = "EC2",
            StopCode = StopCode.UserInitiated,
            StoppedReason = $"stopped by test {seed} — ü",
            HealthStatus = HealthStatus.Healthy,
            CreatedAt = at,
            StartedAt = at.AddSeconds(1),
            LastReportedAt = at.AddSeconds(3),
            Version = 3 + seed,
            Overrides = new TaskOverrides([new ContainerOverrides("web", ["run", $"{seed}"], true, [new EnvironmentVariable("A", "b"), new EnvironmentVariable("EMPTY", "")])]),
        };
        details.Containers.Add(new TaskContainer
        {
            Name = "web",
            Image = "registry.local/web:1",
            LastStatus = LifecycleStatus.Running,
            RuntimeId = $"runtime-{seed}",
            Essential = true,
            ExitCode = seed % 5 == 0 || seed == 7 ? 3 : null,
            NetworkBindings = [new NetworkBinding(80, 30000, "tcp", "0.0.0.0")],
        });
        details.Containers.Add(new TaskContainer { Name = "sidecar", Image = "registry.local/sidecar:2", LastStatus = LifecycleStatus.Pending, ExitCode = 0 });
        return details;
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
            Requirements = TaskDefinitionRecord.RequirementsOf(definition),
            Arn = Arns.TaskDefinition("web", 1),
        };
    }
}
