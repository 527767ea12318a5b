using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Berth.Scheduler.Retention;

/// <summary>The <c>Scheduler:Retention</c> configuration section: how long ended records stay (bounded state).</summary>
internal sealed class RetentionOptions
{
    public const string Section = "Scheduler:Retention";

    /// <summary>
    /// How long a STOPPED task (and an INACTIVE service or container instance) stays in memory and visible to Describe
    /// and List after it ended (ECS: at least an hour). After that it answers MISSING.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "30.00:00:00")]
    public TimeSpan Visibility { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How long its row stays in the database after it ended; at least <see cref="Visibility"/>.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "3650.00:00:00")]
    public TimeSpan RowRetention { get; set; } = TimeSpan.FromHours(24);

    /// <summary>How often ended records are looked for.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "01:00:00")]
    public TimeSpan Interval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Records taken out of memory per cluster lock, and the fewest rows a delete removes (it rides on the next group
    /// commit and removes as many as that commit writes task rows when that is more): small, so that no commit waits
    /// long behind the retention.
    /// </summary>
    [Range(1, 100_000)]
    public int BatchSize { get; set; } = 500;
}

/// <summary>Rules across fields of <see cref="RetentionOptions"/>.</summary>
internal sealed class RetentionOptionsValidator : IValidateOptions<RetentionOptions>
{
    public ValidateOptionsResult Validate(string? name, RetentionOptions options) =>
        options.RowRetention < options.Visibility
            ? ValidateOptionsResult.Fail("Scheduler:Retention:RowRetention must be at least Scheduler:Retention:Visibility (a visible record must have its row).")
            : ValidateOptionsResult.Success;
}
