using Berth.Scheduler.Persistence;
using Microsoft.Extensions.Logging.Abstractions;

namespace Berth.Scheduler.Tests.Persistence;

/// <summary>The start-up reader of task rows (SQLite statement, not ADO.NET) returns every column as written.</summary>
public sealed class TaskRowReaderTests
{
    [Fact]
    public async Task ReadTasksAsync_ReturnsEveryColumnAsWritten()
    {
        var directory = Directory.CreateTempSubdirectory("berth-store-");
        try
        {
            var path = Path.Combine(directory.FullName, "scheduler.db");
            var written = Enumerable.Range(0, 5000).Select(i => new TaskRow
            {
                Id = Guid.NewGuid().ToString("N"),
                // Repeated values share one string in the reader; a non-ASCII one must still come back intact.
                Cluster = i % 3 == 0 ? "prod" : "clüster-ß",
                InstanceId = $"i-{i % 17:D4}",
                DesiredStatus = i % 5,
                LastStatus = (i + 1) % 5,
                DesiredSeq = long.MaxValue - i,
                AgentSequence = i % 2 == 0 ? -i : i,
                ClientToken = i % 4 == 0 ? null : (i % 4 == 1 ? "" : $"token-{i}"),
                Ports = i % 6 == 0 ? "" : $"app|8080|{30000 + i}|tcp;sidecar-é|53|{40000 + i}|udp",
                TaskDefinitionArn = $"arn:berth:ecs:local:task-definition/f{i % 3}:1",
                GroupName = i % 5 == 0 ? "" : $"service:s-ü{i % 9}",
                Cpu = i % 1024,
                Memory = -i,
                StoppedAtMs = i % 2 == 0 ? null : 1_000 + i,
                Details = i % 7 == 0 ? [] : [.. Enumerable.Range(0, i % 300).Select(b => (byte)(b * 7 + i))],
            }).ToList();
            await using (var store = new SqliteSchedulerStore(path, fullSync: false, NullLogger<SqliteSchedulerStore>.Instance))
            {
                await store.OpenAsync(CancellationToken.None);
                var rows = new SqliteSchedulerStore.RowSet();
                rows.Tasks.AddRange(written);
                await store.WriteRowsAsync(rows);
            }

            await using (var store = new SqliteSchedulerStore(path, fullSync: false, NullLogger<SqliteSchedulerStore>.Instance))
            {
                await store.OpenAsync(CancellationToken.None);
                await using var connection = await store.OpenConnectionAsync(CancellationToken.None);
                var read = new Dictionary<string, TaskRow>();
                // Rows that stopped before the visibility cut-off are not read (bounded state).
                foreach (var row in TaskRowReader.Read(connection, visibleSinceMs: 3_000, CancellationToken.None))
                {
                    read.Add(row.Id, row);
                }

                var visible = written.Where(w => w.StoppedAtMs is null or >= 3_000).ToList();
                Assert.Equal(visible.Count, read.Count);
                Assert.True(visible.Count < written.Count);
                foreach (var expected in visible)
                {
                    var actual = read[expected.Id];
                    Assert.Equal(
                        (expected.Cluster, expected.InstanceId, expected.DesiredStatus, expected.LastStatus, expected.DesiredSeq, expected.AgentSequence, expected.ClientToken, expected.Ports),
                        (actual.Cluster, actual.InstanceId, actual.DesiredStatus, actual.LastStatus, actual.DesiredSeq, actual.AgentSequence, actual.ClientToken, actual.Ports));
                    Assert.Equal(
                        (expected.TaskDefinitionArn, expected.GroupName, expected.Cpu, expected.Memory, expected.StoppedAtMs),
                        (actual.TaskDefinitionArn, actual.GroupName, actual.Cpu, actual.Memory, actual.StoppedAtMs));
                    Assert.Equal(expected.Details, actual.Details);
                }
            }
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            directory.Delete(recursive: true);
        }
    }
}
