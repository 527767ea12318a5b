using Berth.Registry.Storage;

namespace Berth.Registry.Tests.Storage;

/// <summary>The filesystem blob store held to the shared behaviour, on a temporary data dir.</summary>
public sealed class FileSystemBlobStoreTests : BlobStoreBehaviour
{
    private readonly string _dataDir = Directory.CreateTempSubdirectory("berth-blobstore-").FullName;

    public override Task DisposeAsync()
    {
        Directory.Delete(_dataDir, recursive: true);
        return Task.CompletedTask;
    }

    private protected override IBlobStore CreateStore() =>
        new FileSystemBlobStore(RegistryDataDirectory.Open(_dataDir));
}
