using System.ComponentModel.DataAnnotations;

namespace Berth.Registry.Gc;

/// <summary>The <c>Registry:Gc</c> configuration section: the online garbage collector.</summary>
internal sealed class GcOptions
{
    public const string SectionName = "Registry:Gc";

    /// <summary>Whether the background collector runs (on-demand runs through the admin API work either way).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// How long something must have been unreferenced before it is deleted: the window in which a client that saw a
    /// blob (HEAD) may still push the manifest that references it, without uploading it again. GitLab's default.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "365.00:00:00")]
    public TimeSpan ReviewDelay { get; set; } = TimeSpan.FromHours(24);

    /// <summary>How often the collector looks at its review queues.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan Interval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Manifests or blobs deleted per transaction: each batch holds the registry's write lock for its duration only.</summary>
    [Range(1, 10_000)]
    public int BatchSize { get; set; } = 100;

    /// <summary>
    /// The share of wall time a collection works while the registry serves requests (it pauses for the rest, in
    /// proportion to each batch's own time; <see cref="GcPacer"/>); with no request since its last batch it runs flat
    /// out. 1: never pause. 0.25 keeps a collection to about a quarter of one core under load, so that on 2 cores the
    /// small requests keep over 80% of their idle rate (docs/benchmarks.md, "Online garbage collection: pacing").
    /// </summary>
    [Range(0.01, 1.0)]
    public double BusyShare { get; set; } = 0.25;

    /// <summary>
    /// SQLite page cache of the writer connection while a collection runs (SQLite's default of 2 MB otherwise). A run
    /// reviews items spread over the whole database and every page missing from the cache is a read system call.
    /// </summary>
    [Range(2L << 20, 1L << 32)]
    public long CacheBytes { get; set; } = 64L << 20;

    /// <summary>
    /// How much of the database file the writer connection reads through a memory map while a collection runs (0: none;
    /// SQLite caps it at ~2 GB): a page read from the map costs a memory access, not a read system call and a copy.
    /// The map is dropped when the run ends. Address space only: the pages are the OS's file cache.
    /// </summary>
    [Range(0L, 1L << 40)]
    public long MapBytes { get; set; } = 2L << 30;

    /// <summary>
    /// The writer's WAL auto-checkpoint while a collection runs, in pages (SQLite's 1,000 otherwise). Each batch
    /// commits the pages it dirtied to the log, and each checkpoint copies the logged pages into the database and
    /// fsyncs it: a longer log between checkpoints copies a page that many batches touched once instead of once per
    /// checkpoint, and fsyncs less often. The log file keeps the size it reached (~80 MB at 20,000 pages of 4 KiB).
    /// </summary>
    [Range(100, 1_000_000)]
    public int CheckpointPages { get; set; } = 20_000;
}
