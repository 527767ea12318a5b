using Berth.Registry.Storage;
using Berth.Registry.Uploads;

namespace Berth.Registry;

/// <summary>
/// Before the server takes requests: locks the data dir, migrates the database, loads the in-memory index and
/// restores upload sessions. Hosted services start before Kestrel listens, so no request sees a cold index.
/// </summary>
internal sealed partial class RegistryStartup(
    RegistryDataDirectory layout,
    IBlobStore blobs,
    RegistryStore store,
    UploadManager uploads,
    ILogger<RegistryStartup> logger) : IHostedService, IDisposable
{
    private FileStream? _dataDirLock;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _dataDirLock = LockDataDir(layout);
        blobs.Initialize();
        var snapshot = await store.LoadAsync(cancellationToken);
        await uploads.RestoreAsync(snapshot.Uploads, layout.Uploads, cancellationToken);
        LogStarted(logger, layout.Root, snapshot.Repositories.Count, snapshot.Blobs.Count);

        // Migrations, EF Core's model and the snapshot leave tens of MiB of garbage that nothing will reuse:
        // give it back to the OS once, before serving (RSS is a budget of this service).
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        Dispose();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        _dataDirLock?.Dispose();
        _dataDirLock = null;
    }

    // One registry process per data dir: FileShare.None is an exclusive flock on Unix, released by the kernel
    // when the process dies (kill -9 included).
    private static FileStream LockDataDir(RegistryDataDirectory layout)
    {
        try
        {
            return new FileStream(layout.Lock, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException exception)
        {
            throw new InvalidOperationException($"Another registry process is using the data dir {layout.Root}.", exception);
        }
    }
}
