using System.ComponentModel.DataAnnotations;
using Berth.Registry.Manifests;

namespace Berth.Registry;

/// <summary>The <c>Registry</c> configuration section.</summary>
internal sealed class RegistryOptions
{
    public const string SectionName = "Registry";

    /// <summary>Command-line switches that map onto this section (<c>--data-dir PATH</c>).</summary>
    public static readonly IDictionary<string, string> SwitchMappings = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["--data-dir"] = $"{SectionName}:{nameof(DataDir)}",
        // TLS: Kestrel's own PEM support serves every https:// URL with this certificate and key.
        ["--tls-cert"] = "Kestrel:Certificates:Default:Path",
        ["--tls-key"] = "Kestrel:Certificates:Default:KeyPath",
        // `--allow-sparse-manifests index|all` (docs/registry.md, "Sparse manifests").
        ["--allow-sparse-manifests"] = $"{SectionName}:{nameof(SparseManifests)}",
    };

    /// <summary>Every byte of the registry's state lives under this directory.</summary>
    [Required]
    public string DataDir { get; set; } = "./data";

    /// <summary>The largest manifest accepted (the OCI spec suggests registries accept at least 4 MiB).</summary>
    [Range(4 * 1024, 64 * 1024 * 1024)]
    public int MaxManifestBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>
    /// The largest request header block accepted (names and values). Docker's bearer tokens are 0.5-2 KiB and a few
    /// KiB with many scopes; CNCF distribution (Go's default) accepts 1 MiB. Over it: 431 with the spec's JSON error.
    /// </summary>
    [Range(8 * 1024, 16 * 1024 * 1024)]
    public int MaxRequestHeaderBytes { get; set; } = 64 * 1024;

    /// <summary>Upload sessions one client (token subject, else address) may hold open at once.</summary>
    [Range(1, 1_000_000)]
    public int MaxUploadsPerClient { get; set; } = 1_000;

    /// <summary>An upload with no request for this long is abandoned: its session and bytes are removed.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "365.00:00:00")]
    public TimeSpan UploadSessionTimeout { get; set; } = TimeSpan.FromHours(24);

    /// <summary>How often abandoned uploads are looked for.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan UploadCleanupInterval { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Bytes of manifest bodies kept in memory. Every manifest's digest, size, media type and tags are always in
    /// memory (HEAD never reads the database); GET of a manifest whose body is not cached reads it from the database.
    /// </summary>
    [Range(typeof(long), "0", "17179869184")]
    public long ManifestCacheBytes { get; set; } = 8 * 1024 * 1024;

    /// <summary>Blobs (size and repository links) kept in memory; a lookup of another reads the database.</summary>
    [Range(0, 100_000_000)]
    public int BlobCacheEntries { get; set; } = 10_000;

    /// <summary>
    /// Which manifests may reference content the repository does not hold (the spec lets a registry accept them):
    /// none (the default: every reference must resolve, so a pull never meets a hole), indexes whose child manifests
    /// are missing, or also image manifests whose config or layers are missing.
    /// </summary>
    [EnumDataType(typeof(SparseManifests))]
    public SparseManifests SparseManifests { get; set; } = SparseManifests.None;

    /// <summary>
    /// Whether a mount without <c>from</c> (<c>POST ?mount=&lt;digest&gt;</c>) links the blob when some repository the
    /// caller may pull holds it: the spec's "automatic content discovery". When false such a mount starts an upload (202).
    /// </summary>
    public bool AutomaticContentDiscovery { get; set; } = true;

    /// <summary>The most entries one page of tags or catalog returns, whatever <c>n</c> asks.</summary>
    [Range(1, 1_000_000)]
    public int MaxPageSize { get; set; } = 10_000;
}
