using System.Text;
using Berth.Registry.Storage;
using Berth.Registry.Storage.Sqlite;
using Microsoft.Data.Sqlite;

namespace Berth.Registry.Tests.Notifications;

/// <summary>
/// The outbox row and the change it describes commit together: the metadata store writes the journal's row inside the
/// change's transaction, so a change whose event cannot be written is not stored either, and the other way round.
/// </summary>
public sealed class OutboxTransactionTests : IAsyncLifetime, IDisposable
{
    private readonly string _dataDir = Directory.CreateTempSubdirectory("berth-outbox-").FullName;
    private readonly TestJournal _journal = new();
    private SqliteMetadataStore _store = null!;

    public async Task InitializeAsync()
    {
        _store = new SqliteMetadataStore(RegistryDataDirectory.Open(_dataDir), TimeProvider.System, _journal);
        await _store.InitializeAsync(CancellationToken.None);
    }

    public void Dispose() => _store.Dispose();

    public Task DisposeAsync()
    {
        _store.Dispose();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dataDir, recursive: true);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task EachChange_CommitsWithItsRow_AndWakesTheSenderAfterTheCommit()
    {
        await _store.PutManifestAsync("team/app", Manifest("a"), ["v1", "v2"], CancellationToken.None);
        await _store.DeleteTagAsync("team/app", "v2", CancellationToken.None);
        await _store.DeleteManifestAsync("team/app", Manifest("a").Digest, CancellationToken.None);
        Assert.False(await _store.DeleteTagAsync("team/app", "never-there", CancellationToken.None));

        Assert.Equal(["push:v1", "push:v2", "delete:v2", "delete:" + Manifest("a").Digest], await RowsAsync());
        Assert.Equal(3, _journal.Commits);
    }

    [Fact]
    public async Task AChangeWhoseRowCannotBeWritten_IsNotStored()
    {
        _journal.Fail = true;
        await Assert.ThrowsAsync<InvalidOperationException>(() => _store.PutManifestAsync("team/app", Manifest("b"), ["v1"], CancellationToken.None));

        _journal.Fail = false;
        Assert.Empty(await _store.ListRepositoriesAsync(null, 10, CancellationToken.None));
        Assert.Null(await _store.GetManifestContentAsync(1, Manifest("b").Digest, CancellationToken.None));
        Assert.Empty(await RowsAsync());
        Assert.Equal(0, _journal.Commits);

        // The store goes on: the same push succeeds once the row can be written.
        await _store.PutManifestAsync("team/app", Manifest("b"), ["v1"], CancellationToken.None);
        Assert.Equal(["push:v1"], await RowsAsync());
    }

    [Fact]
    public async Task ARepositoryDeletedWithItsImages_RecordsADeletePerManifest_InItsTransaction()
    {
        var repositories = new SqliteRepositoryMetadata(_store, TimeProvider.System);
        await _store.PutManifestAsync("team/app", Manifest("c"), ["v1"], CancellationToken.None);
        await _store.PutManifestAsync("team/app", Manifest("d"), [], CancellationToken.None);
        var commitsBefore = _journal.Commits;

        // A delete whose rows cannot be written leaves the repository, its images and the outbox as they were.
        _journal.Fail = true;
        await Assert.ThrowsAsync<InvalidOperationException>(() => repositories.DeleteRepositoryAsync("team/app", force: true, CancellationToken.None));
        _journal.Fail = false;
        Assert.NotNull(await _store.GetManifestContentAsync(1, Manifest("d").Digest, CancellationToken.None));
        Assert.Equal(commitsBefore, _journal.Commits);

        var (result, _, removed) = await repositories.DeleteRepositoryAsync("team/app", force: true, CancellationToken.None);

        Assert.Equal(Berth.Registry.Repositories.RepositoryDeletion.Deleted, result);
        Assert.Equal(2, removed.Count);
        Assert.Equal(["push:v1", "push:" + Manifest("d").Digest, "delete:" + Manifest("c").Digest, "delete:" + Manifest("d").Digest], await RowsAsync());
        Assert.Equal(commitsBefore + 1, _journal.Commits);
    }

    private static NewManifest Manifest(string seed)
    {
        var content = System.Text.Encoding.UTF8.GetBytes($"{{\"schemaVersion\":2,\"seed\":\"{seed}\"}}");
        return new NewManifest(Infrastructure.RegistryTestClient.Sha256(content), "application/vnd.oci.image.index.v1+json", null, null, content, [], []);
    }

    private async Task<List<string>> RowsAsync()
    {
        await using var connection = new SqliteConnection($"Data Source={Path.Combine(_dataDir, "registry.db")};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        using var command = connection.CreateCommand();
        command.CommandText = """SELECT "Action", "Payload" FROM "NotificationEvents" ORDER BY "Id";""";
        var rows = new List<string>();
        using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add(reader.GetString(0) + ":" + reader.GetString(1));
        }

        return rows;
    }

    /// <summary>Writes the tag (or digest) as the payload; can be made to fail inside the transaction.</summary>
    private sealed class TestJournal : IChangeJournal
    {
        public bool Fail { get; set; }

        public int Commits { get; private set; }

        public JournalEntry? Describe(in RegistryChange change) =>
            Fail
                ? throw new InvalidOperationException("the outbox row cannot be written")
                : new JournalEntry(change.Action == ChangeAction.Push ? "push" : "delete", Encoding.UTF8.GetBytes(change.Tag ?? change.Digest!));

        public void Committed() => Commits++;
    }
}
