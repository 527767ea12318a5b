using System.ComponentModel.DataAnnotations;

namespace Berth.Registry.Lifecycle;

/// <summary>The <c>Registry:Lifecycle</c> configuration section: applying lifecycle policies.</summary>
internal sealed class LifecycleOptions
{
    public const string SectionName = "Registry:Lifecycle";

    /// <summary>Whether policies are applied in the background (runs on demand through the admin API work either way).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>How often every repository's policy is applied. ECR expires images within 24 hours of meeting the criteria.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan Interval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Images expired per transaction: each batch holds the registry's write lock for its duration only.</summary>
    [Range(1, 10_000)]
    public int BatchSize { get; set; } = 100;

    /// <summary>How many runs (with what they expired) the admin API keeps.</summary>
    [Range(1, 10_000)]
    public int RunsKept { get; set; } = 100;
}
