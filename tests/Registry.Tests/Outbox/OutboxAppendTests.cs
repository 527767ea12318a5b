using System.Text;
using Berth.Registry.Outbox;
using Berth.Registry.Storage.Sqlite;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;

namespace Berth.Registry.Tests.Outbox;

/// <summary>
/// Events appended outside a change's transaction (<see cref="ChangeOutbox.BeginAppendAsync"/>, the flush of pull
/// events) against a real outbox database: stored as TEXT like every other row, in order across several chunks,
/// nothing without the commit; and a row written before (a string, as the store wrote them) reads back as its bytes.
/// </summary>
public sealed class OutboxAppendTests : IAsyncLifetime, IDisposable
{
    private readonly string _dataDir = Directory.CreateTempSubdirectory("berth-outbox-").FullName;
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 4, 12, 0, 0, TimeSpan.Zero));
    private SqliteMetadataStore _store = null!;
    private ChangeOutbox _outbox = null!;

    public async Task InitializeAsync()
    {
        _store = new SqliteMetadataStore(RegistryDataDirectory.Open(_dataDir), TimeProvider.System);
        await _store.InitializeAsync(CancellationToken.None);
        _outbox = new ChangeOutbox(RegistryDataDirectory.Open(_dataDir), _time, []);
    }

    public void Dispose()
    {
        _store.Dispose();
        _outbox.Dispose();
    }

    public Task DisposeAsync()
    {
        Dispose();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dataDir, recursive: true);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Chunks_AreStoredAsText_InOrder_InOneTransaction()
    {
        // Enough events for several chunks, of varying length (and not only ASCII).
        var events = Enumerable.Range(0, 2_000).Select(i => $"{{\"n\":{i},\"pad\":\"{new string('é', i % 300)}\"}}").ToList();
        using var payloads = new OutboxPayloads();
        await using (var append = await _outbox.BeginAppendAsync("pull", CancellationToken.None))
        {
            var chunks = 0;
            foreach (var text in events)
            {
                payloads.Writer.WriteRawValue(text);
                payloads.EndEvent();
                if (payloads.IsFull)
                {
                    await append.InsertAsync(payloads, CancellationToken.None);
                    chunks++;
                }
            }

            await append.InsertAsync(payloads, CancellationToken.None);
            Assert.True(chunks >= 2, $"{chunks} full chunks");
            Assert.Equal(events.Count, append.Inserted);

            // Not committed yet: nobody sees them.
            Assert.Empty(await RowsAsync());
            append.Commit();
        }

        var rows = await RowsAsync();
        Assert.Equal(events, rows.Select(r => r.Payload));
        Assert.All(rows, r => Assert.Equal(("pull", "text"), (r.Action, r.Type)));

        var queued = await _outbox.ReadAsync(0, 10, CancellationToken.None);
        Assert.Equal(events.Take(10), queued.Select(e => Encoding.UTF8.GetString(e.Payload)));
    }

    [Fact]
    public async Task WithoutCommit_NothingIsStored()
    {
        using var payloads = new OutboxPayloads();
        await using (var append = await _outbox.BeginAppendAsync("pull", CancellationToken.None))
        {
            payloads.Writer.WriteRawValue("{}");
            payloads.EndEvent();
            await append.InsertAsync(payloads, CancellationToken.None);
        }

        Assert.Empty(await RowsAsync());
        Assert.Equal(0, payloads.Count);
    }

    [Fact]
    public async Task ARowWrittenAsAString_ReadsBackAsItsUtf8Bytes()
    {
        // As the store wrote every row before payloads were bytes: a .NET string bound as TEXT.
        const string Payload = """{"id":"old","action":"push","target":{"repository":"ünï"}}""";
        await using (var connection = new SqliteConnection($"Data Source={Path.Combine(_dataDir, "registry.db")};Pooling=False"))
        {
            await connection.OpenAsync();
            using var command = connection.CreateCommand();
            command.CommandText = """INSERT INTO "NotificationEvents" ("Action", "Payload", "CreatedAt") VALUES ('push', $payload, $now);""";
            command.Parameters.AddWithValue("$payload", Payload);
            command.Parameters.AddWithValue("$now", DateTime.UtcNow);
            await command.ExecuteNonQueryAsync();
        }

        var queued = Assert.Single(await _outbox.ReadAsync(0, 10, CancellationToken.None));
        Assert.Equal(Encoding.UTF8.GetBytes(Payload), queued.Payload);
    }

    private async Task<List<(long Id, string Action, string Payload, string Type)>> RowsAsync()
    {
        await using var connection = new SqliteConnection($"Data Source={Path.Combine(_dataDir, "registry.db")};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        using var command = connection.CreateCommand();
        command.CommandText = """SELECT "Id", "Action", "Payload", typeof("Payload") FROM "NotificationEvents" ORDER BY "Id";""";
        var rows = new List<(long, string, string, string)>();
        using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add((reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3)));
        }

        return rows;
    }
}
