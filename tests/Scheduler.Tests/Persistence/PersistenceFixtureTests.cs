using System.Text.Json.Nodes;
using Berth.Scheduler.Tests.Infrastructure;
using Berth.Scheduler.V1;
using Google.Protobuf;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace Berth.Scheduler.Tests.Persistence;

/// <summary>
/// A database written by main at 416f346 (protobuf blobs; Fixtures/main-416f346/README.md says how it was made) opened by
/// today's scheduler: it is converted to the stored format once, and every read answers what the old scheduler answered
/// after a restart on the same database (Fixtures/main-416f346/expected.json), field by field.
/// </summary>
public sealed class PersistenceFixtureTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly string s_fixture = Path.Combine(AppContext.BaseDirectory, "Persistence", "Fixtures", "main-416f346");

    // The fixture's own day: nothing in it has aged past the visibility yet, whenever the test runs.
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 3, 16, 0, 0, TimeSpan.Zero));
    private readonly TempDirectory _data = new();
    private SchedulerHost? _host;

    private static readonly Dictionary<string, string?> s_settings = new()
    {
        // Nothing may happen to the fixture's instances while the test reads them.
        ["Scheduler:LostHostGracePeriod"] = "1.00:00:00",
    };

    public Task InitializeAsync()
    {
        File.Copy(Path.Combine(s_fixture, "scheduler.db"), Path.Combine(_data.Path, "scheduler.db"));
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }

        SqliteConnection.ClearAllPools();
        _data.Delete();
    }

    [Fact]
    public async Task DatabaseOfMain_IsConverted_AndEveryReadAnswersAsBefore()
    {
        var expected = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(s_fixture, "expected.json")))!.AsObject();

        _host = await SchedulerHost.StartAsync(_data.Path, output, s_settings, _time);
        await CompareAsync(expected, starts: 1);
        AssertStoredFormat();

        // A second start takes the current schema as it is, and reads the converted rows.
        await _host.DisposeAsync();
        _host = await SchedulerHost.StartAsync(_data.Path, output, s_settings, _time);
        await CompareAsync(expected, starts: 2);
    }

    private async Task CompareAsync(JsonObject expected, int starts)
    {
        var actual = await ReadEverythingAsync(_host!, expected.Select(e => e.Key).ToList());
        Assert.Equal(expected.Select(e => e.Key).Order(), actual.Keys.Order());
        foreach (var (key, value) in expected)
        {
            var want = JsonNode.Parse(value!.GetValue<string>())!;
            var got = JsonNode.Parse(actual[key])!;
            Normalize(key, want, got, starts);
            Assert.True(JsonNode.DeepEquals(want, got), $"{key} differs.\nexpected: {want.ToJsonString()}\nactual:   {got.ToJsonString()}");
        }
    }

    /// <summary>
    /// What is not the stored state: desired-state versions are drawn fresh at every start (above every earlier one), and
    /// a restart's first reconcile pass writes a service's steady-state event again (whether a service was steady is
    /// not stored), so the events newer than the fixture (one per start of this scheduler) are set aside.
    /// </summary>
    private void Normalize(string key, JsonNode want, JsonNode got, int starts)
    {
        if (key.StartsWith("instances ", StringComparison.Ordinal))
        {
            foreach (var (w, g) in want["containerInstances"]!.AsArray().Zip(got["containerInstances"]!.AsArray()))
            {
                Assert.NotNull(g!["desiredVersion"]);
                w!.AsObject().Remove("desiredVersion");
                g.AsObject().Remove("desiredVersion");
            }
        }

        if (key == "services")
        {
            foreach (var (w, g) in want["services"]!.AsArray().Zip(got["services"]!.AsArray()))
            {
                var wanted = w!["events"]!.AsArray();
                var events = g!["events"]!.AsArray();
                var extra = events.Count - wanted.Count;
                Assert.True(extra >= 0 && extra <= starts, $"events: expected {wanted.ToJsonString()}\nactual {events.ToJsonString()}");
                for (var i = 0; i < extra; i++)
                {
                    Assert.Equal(_time.GetUtcNow(), DateTimeOffset.Parse(events[0]!["createdAt"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture));
                    Assert.EndsWith("has reached a steady state.", events[0]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
                    events.RemoveAt(0);
                }
            }
        }
    }

    /// <summary>Every read the fixture's generator made, answered by this scheduler.</summary>
    private static async Task<Dictionary<string, string>> ReadEverythingAsync(SchedulerHost host, List<string> keys)
    {
        var admin = host.Admin;
        var answers = new Dictionary<string, string>(StringComparer.Ordinal);
        void Add(string key, IMessage message) => answers[key] = JsonFormatter.Default.Format(message);
        Add("clusters", await host.Clusters.DescribeClustersAsync(new DescribeClustersRequest { Clusters = { "default", "prod", "gone" } }, admin));
        Add("clusterList", await host.Clusters.ListClustersAsync(new ListClustersRequest(), admin));
        var definitions = await host.TaskDefinitions.ListTaskDefinitionsAsync(new ListTaskDefinitionsRequest { Status = "ALL" }, admin);
        Add("definitionList", definitions);
        foreach (var arn in definitions.TaskDefinitionArns)
        {
            Add("definition " + arn, await host.TaskDefinitions.DescribeTaskDefinitionAsync(new DescribeTaskDefinitionRequest { TaskDefinition = arn }, admin));
        }

        Add("families", await host.TaskDefinitions.ListTaskDefinitionFamiliesAsync(new ListTaskDefinitionFamiliesRequest { Status = "ALL" }, admin));
        foreach (var cluster in new[] { "default", "prod" })
        {
            foreach (var status in new[] { "", "ACTIVE", "DRAINING", "INACTIVE" })
            {
                var list = await host.Instances.ListContainerInstancesAsync(new ListContainerInstancesRequest { Cluster = cluster, Status = status }, admin);
                Add($"instanceList {cluster} {status}", list);
                if (list.ContainerInstanceArns.Count > 0)
                {
                    Add($"instances {cluster} {status}", await host.Instances.DescribeContainerInstancesAsync(new DescribeContainerInstancesRequest { Cluster = cluster, ContainerInstances = { list.ContainerInstanceArns } }, admin));
                }
            }

            foreach (var desired in new[] { LifecycleStatus.Running, LifecycleStatus.Pending, LifecycleStatus.Stopped })
            {
                var list = await host.Tasks.ListTasksAsync(new ListTasksRequest { Cluster = cluster, DesiredStatus = desired, MaxResults = 100 }, admin);
                Add($"taskList {cluster} {desired}", list);
                if (list.TaskArns.Count > 0)
                {
                    Add($"tasks {cluster} {desired}", await host.Tasks.DescribeTasksAsync(new DescribeTasksRequest { Cluster = cluster, Tasks = { list.TaskArns } }, admin));
                }
            }
        }

        Add("serviceList", await host.ServicesApi.ListServicesAsync(new ListServicesRequest { Cluster = "prod" }, admin));
        Add("services", await host.ServicesApi.DescribeServicesAsync(new DescribeServicesRequest { Cluster = "prod", Services = { "api", "node-agent", "retired" } }, admin));
        Assert.All(keys, k => Assert.Contains(k, answers.Keys));
        return answers;
    }

    /// <summary>The protobuf blobs are gone; every row has its document.</summary>
    private void AssertStoredFormat()
    {
        using var connection = new SqliteConnection($"Data Source={Path.Combine(_data.Path, "scheduler.db")};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        foreach (var (table, legacy) in new[] { ("tasks", "Info"), ("instances", "Facts"), ("services", "Info") })
        {
            command.CommandText = $"SELECT COUNT(*) FROM pragma_table_info('{table}') WHERE name = '{legacy}'";
            Assert.Equal(0L, (long)command.ExecuteScalar()!);
        }

        command.CommandText = "SELECT (SELECT COUNT(*) FROM tasks WHERE Details IS NULL OR TaskDefinitionArn IS NULL) + (SELECT COUNT(*) FROM instances WHERE HostFacts IS NULL) + (SELECT COUNT(*) FROM services WHERE Document IS NULL)";
        Assert.Equal(0L, (long)command.ExecuteScalar()!);
        command.CommandText = "SELECT COUNT(*) FROM tasks WHERE LastStatus = 8 AND StoppedAtMs IS NULL";
        Assert.Equal(0L, (long)command.ExecuteScalar()!);
        command.CommandText = "SELECT CAST(Details AS TEXT) FROM tasks LIMIT 1";
        Assert.StartsWith("{\"v\":1,", (string)command.ExecuteScalar()!, StringComparison.Ordinal);
    }
}
