using System.Globalization;
using Berth.Registry.Storage.Sqlite;
using Microsoft.Data.Sqlite;

namespace Berth.Registry.Tests.Gc;

/// <summary>
/// The writer connection's settings for a collection (a bigger page cache, a memory map, a longer log between
/// checkpoints): in force while the run lasts, and the writer's usual ones again after it, so that a registry that
/// collected once does not keep a collection's memory.
/// </summary>
public sealed class GcRunSettingsTests : IAsyncLifetime, IDisposable
{
    private readonly string _dataDir;
    private readonly SqliteMetadataStore _store;

    public GcRunSettingsTests()
    {
        _dataDir = Directory.CreateTempSubdirectory("berth-gc-settings-").FullName;
        _store = new SqliteMetadataStore(RegistryDataDirectory.Open(_dataDir), TimeProvider.System);
    }

    public Task InitializeAsync() => _store.InitializeAsync(CancellationToken.None);

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose()
    {
        _store.Dispose();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dataDir, recursive: true);
    }

    private Task<(long CacheSize, long MapSize, long CheckpointPages)> WriterSettingsAsync() =>
        _store.WithWriterAsync(
            connection => (Pragma(connection, "cache_size"), Pragma(connection, "mmap_size"), Pragma(connection, "wal_autocheckpoint")),
            CancellationToken.None);

    private static long Pragma(SqliteConnection connection, string name)
    {
        using var command = connection.Command($"PRAGMA {name};");
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task ARun_WidensTheWritersCacheMapAndCheckpoint_AndPutsTheUsualOnesBackAfterIt()
    {
        var metadata = new SqliteGcMetadata(_store);
        var usual = await WriterSettingsAsync();

        (long CacheSize, long MapSize, long CheckpointPages) during;
        await using (await metadata.BeginRunAsync(64L << 20, 256L << 20, 20_000, CancellationToken.None))
        {
            during = await WriterSettingsAsync();
        }

        var after = await WriterSettingsAsync();

        // A negative cache_size is KiB.
        Assert.Equal((-65_536L, 256L << 20, 20_000L), during);
        Assert.Equal(usual, after);
        Assert.Equal(0, usual.MapSize);
    }
}
