using System.ComponentModel.DataAnnotations;

namespace Berth.Registry.Repositories;

/// <summary>The <c>Registry:Repositories</c> configuration section.</summary>
internal sealed class RepositoryOptions
{
    public const string SectionName = "Registry:Repositories";

    /// <summary>
    /// Whether a push to a repository that does not exist creates it when no creation template covers its name (a
    /// template's own CreateOnPush wins). True keeps plain <c>docker push</c> working as with any registry; false is
    /// ECR's default (repositories are created first, or by a template).
    /// </summary>
    public bool CreateOnPush { get; set; } = true;

    /// <summary>How often the last pull times noted in memory are written to the database (ECR records them within a day).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan LastPullFlushInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// How many distinct manifests' pull times may wait in memory before they are written without waiting for the
    /// interval. A waiting manifest costs ~250 bytes; at 20,000 GETs/s spread over a million manifests, a minute's worth
    /// held 75 MiB of the registry's 200 MiB budget. 4,096 hold ~1 MiB (16,384 measured 4-8 MiB more RSS under that load).
    /// </summary>
    [Range(1, 10_000_000)]
    public int LastPullMaxPending { get; set; } = 4_096;
}
