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
}
