using System.Diagnostics;
using Berth.Registry.Storage;
using Berth.Registry.Uploads;

namespace Berth.Registry;

/// <summary>
/// Before the server takes requests: locks the data dir, migrates the database, loads the in-memory index and
/// restores upload sessions from their records. Hosted services start before Kestrel listens, so no request sees a cold index.
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
        await blobs.InitializeAsync(cancellationToken);
        var started = Stopwatch.GetTimestamp();
        var cpu = Environment.CpuUsage.TotalTime;
        var index = await store.LoadAsync(cancellationToken);
        await uploads.RestoreAsync(await store.Metadata.ListUploadsAsync(cancellationToken), cancellationToken);

        // The process's CPU beside the wall time: on a busy machine the wall time is mostly waiting for a core.
        LogStarted(
            logger,
            layout.Root,
            index.Repositories,
            index.Manifests,
            index.Tags,
            index.Bytes / (1024 * 1024),
            Stopwatch.GetElapsedTime(started).TotalSeconds,
            (Environment.CpuUsage.TotalTime - cpu).TotalSeconds);

        // The index load leaves tens of MiB of garbage (a string per row read) that nothing will reuse: give it back
        // to the OS once, before serving (RSS is a budget of this service).
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
