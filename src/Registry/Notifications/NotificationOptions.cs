using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Berth.Registry.Notifications;

/// <summary>
/// <c>Registry:Notifications</c>: HTTP endpoints that receive push/delete (and optionally pull) events as
/// distribution's notification envelope. Without endpoints nothing is recorded and a push costs nothing more.
/// </summary>
internal sealed class NotificationOptions
{
    public const string SectionName = "Registry:Notifications";

    public List<NotificationEndpointOptions> Endpoints { get; set; } = [];

    /// <summary>Events per request to an endpoint, at most.</summary>
    [Range(1, 10_000)]
    public int BatchSize { get; set; } = 100;

    /// <summary>
    /// How often a sender looks for events when nothing woke it: a commit wakes the senders at once; this covers a
    /// wake-up lost between the commit and the sender's wait.
    /// </summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How often pull events noted in memory are written to the outbox (one transaction each time): a pull is not
    /// acknowledged by a commit, so a crash loses at most this long's pull events.
    /// </summary>
    public TimeSpan PullFlushInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Pull events waiting in memory, at most: half of it starts a write at once, and pulls beyond it (a writer that
    /// cannot keep up) are not recorded, which keeps memory bounded and never holds up a pull.
    /// </summary>
    [Range(2, 1_000_000)]
    public int MaxPendingPulls { get; set; } = 10_000;
}

/// <summary>One receiver of events (distribution's <c>notifications.endpoints[]</c>).</summary>
internal sealed class NotificationEndpointOptions
{
    public static readonly IReadOnlyList<string> DefaultActions = ["push", "delete"];

    /// <summary>Names the endpoint in the admin API and keeps its place in the queue across restarts.</summary>
    [Required]
    [RegularExpression("^[A-Za-z0-9._-]{1,128}$", ErrorMessage = "Name: 1-128 characters of A-Z, a-z, 0-9, '.', '_', '-'")]
    public string Name { get; set; } = "";

    /// <summary>Where the envelope is POSTed (http or https).</summary>
    [Required]
    public Uri? Url { get; set; }

    /// <summary>Headers sent with every request (an Authorization header, typically).</summary>
    public Dictionary<string, string> Headers { get; set; } = [];

    /// <summary>How long one delivery attempt may take.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The first wait after a failed attempt; each further failure doubles it, up to <see cref="MaxBackoff"/>.</summary>
    public TimeSpan Backoff { get; set; } = TimeSpan.FromSeconds(1);

    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Which actions it receives: <c>push</c>, <c>delete</c>, <c>pull</c>. Unset: push and delete.</summary>
    public List<string>? Actions { get; set; }

    public IReadOnlyList<string> EffectiveActions => Actions is { Count: > 0 } actions ? actions : DefaultActions;
}

/// <summary>The rules across fields that data annotations cannot say.</summary>
internal sealed class NotificationOptionsValidator : IValidateOptions<NotificationOptions>
{
    private static readonly string[] s_actions = ["push", "delete", "pull"];

    public ValidateOptionsResult Validate(string? name, NotificationOptions options)
    {
        var failures = new List<string>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < options.Endpoints.Count; i++)
        {
            var endpoint = options.Endpoints[i];
            var at = $"{NotificationOptions.SectionName}:Endpoints:{i}";
            var results = new List<ValidationResult>();
            if (!Validator.TryValidateObject(endpoint, new ValidationContext(endpoint), results, validateAllProperties: true))
            {
                failures.AddRange(results.Select(r => $"{at}: {r.ErrorMessage}"));
            }

            if (!names.Add(endpoint.Name))
            {
                failures.Add($"{at}:Name: '{endpoint.Name}' names two endpoints");
            }

            if (endpoint.Url is { } url && (!url.IsAbsoluteUri || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps)))
            {
                failures.Add($"{at}:Url: '{url}' is not an absolute http or https URL");
            }

            if (endpoint.Timeout <= TimeSpan.Zero || endpoint.Backoff <= TimeSpan.Zero || endpoint.MaxBackoff < endpoint.Backoff)
            {
                failures.Add($"{at}: Timeout and Backoff must be positive and MaxBackoff at least Backoff");
            }

            foreach (var action in endpoint.Actions ?? [])
            {
                if (!s_actions.Contains(action, StringComparer.Ordinal))
                {
                    failures.Add($"{at}:Actions: '{action}' is not one of push, delete, pull");
                }
            }
        }

        if (options.PollInterval <= TimeSpan.Zero)
        {
            failures.Add($"{NotificationOptions.SectionName}:PollInterval must be positive");
        }

        if (options.PullFlushInterval <= TimeSpan.Zero)
        {
            failures.Add($"{NotificationOptions.SectionName}:PullFlushInterval must be positive");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
