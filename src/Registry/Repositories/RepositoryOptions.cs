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
}
