using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Berth.Registry.Replication;

/// <summary>
/// <c>Registry:Replication</c>: how the worker copies images to the destinations of the replication configuration
/// (which is set through the admin API, not here).
/// </summary>
internal sealed class ReplicationOptions
{
    public const string SectionName = "Registry:Replication";

    /// <summary>Off: pushes record nothing for replication and nothing is copied (the configuration can still be set).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>The wait after an image's first failed attempt; each further failure doubles it, up to <see cref="MaxBackoff"/>.</summary>
    public TimeSpan Backoff { get; set; } = TimeSpan.FromSeconds(5);

    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// After this many failed attempts the status says FAILED; attempts still go on every <see cref="MaxBackoff"/> at
    /// most, so a destination that comes back catches up (and the status becomes COMPLETE).
    /// </summary>
    [Range(1, 1000)]
    public int FailedAfterAttempts { get; set; } = 5;

    /// <summary>How long one attempt (one image to one destination, every blob included) may take.</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>Images copied at once.</summary>
    [Range(1, 64)]
    public int Concurrency { get; set; } = 2;

    /// <summary>
    /// How often the worker looks for work when nothing woke it: a commit and a due retry wake it at once; this covers
    /// a wake-up lost between the commit and the worker's wait.
    /// </summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(5);
}

/// <summary>The rules across fields that data annotations cannot say.</summary>
internal sealed class ReplicationOptionsValidator : IValidateOptions<ReplicationOptions>
{
    public ValidateOptionsResult Validate(string? name, ReplicationOptions options)
    {
        var failures = new List<string>();
        if (options.Backoff <= TimeSpan.Zero || options.MaxBackoff < options.Backoff)
        {
            failures.Add($"{ReplicationOptions.SectionName}: Backoff must be positive and MaxBackoff at least Backoff");
        }

        if (options.AttemptTimeout <= TimeSpan.Zero || options.PollInterval <= TimeSpan.Zero)
        {
            failures.Add($"{ReplicationOptions.SectionName}: AttemptTimeout and PollInterval must be positive");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
