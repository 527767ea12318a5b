using Berth.Registry.Storage;
using Berth.Registry.Storage.Sqlite;
using Microsoft.Data.Sqlite;

namespace Berth.Registry.Tests.Storage;

/// <summary>The SQLite metadata store held to the shared behaviour, on a temporary data dir.</summary>
public sealed class SqliteMetadataStoreTests : MetadataStoreBehaviour
{
    private readonly string _dataDir = Directory.CreateTempSubdirectory("berth-metadata-").FullName;

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dataDir, recursive: true);
    }

    private protected override IMetadataStore CreateStore() =>
        new SqliteMetadataStore(RegistryDataDirectory.Open(_dataDir), TimeProvider.System);
}
