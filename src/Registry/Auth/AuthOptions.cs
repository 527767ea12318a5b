using System.ComponentModel.DataAnnotations;

namespace Berth.Registry.Auth;

/// <summary>Token authentication settings (section <c>Registry:Auth</c>).</summary>
internal sealed class AuthOptions
{
    public const string SectionName = "Registry:Auth";

    /// <summary>When false the registry is open to anyone (only for throwaway local use).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>The <c>service</c> in challenges and the <c>aud</c> of every token.</summary>
    [Required]
    public string Service { get; set; } = "berth-registry";

    /// <summary>The <c>iss</c> of every token.</summary>
    [Required]
    public string Issuer { get; set; } = "berth-registry";

    /// <summary>
    /// The token endpoint as clients must reach it. Empty: built from the request (scheme and Host, or X-Forwarded-*),
    /// which is what a registry reached under several names needs.
    /// </summary>
    public string? Realm { get; set; }

    /// <summary>How long a bearer token lives. Short, because it is checked only when a request starts.</summary>
    [Range(typeof(TimeSpan), "00:00:30", "1.00:00:00")]
    public TimeSpan TokenLifetime { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long a refresh token (docker's stored identity token) lives.</summary>
    [Range(typeof(TimeSpan), "00:05:00", "3650.00:00:00")]
    public TimeSpan RefreshTokenLifetime { get; set; } = TimeSpan.FromDays(90);

    /// <summary>How long an ECR-style login password lives.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "7.00:00:00")]
    public TimeSpan LoginPasswordLifetime { get; set; } = TimeSpan.FromHours(12);

    /// <summary>Failed logins from one client address allowed within <see cref="FailureWindow"/> before it is throttled.</summary>
    [Range(1, 10_000)]
    public int MaxFailures { get; set; } = 10;

    /// <summary>The window over which failures are counted, and how long a throttled client waits.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan FailureWindow { get; set; } = TimeSpan.FromMinutes(1);
}
