using Microsoft.Extensions.Options;

namespace Berth.Scheduler.RegistryAccess;

/// <summary>
/// The <c>Scheduler:Registry</c> section: the Berth registry this scheduler trusts and the robot account it pulls as.
/// Tasks whose images live on one of <see cref="Addresses"/> get a short-lived pull credential in their desired
/// state (see <see cref="TaskRegistryCredentials"/>). Without <see cref="Url"/> no credential is handed out.
/// </summary>
internal sealed class RegistryAccessOptions
{
    public const string Section = "Scheduler:Registry";

    /// <summary>Command-line switches that map onto this section.</summary>
    public static readonly Dictionary<string, string> SwitchMappings = new(StringComparer.Ordinal)
    {
        ["--registry-url"] = $"{Section}:{nameof(Url)}",
        ["--registry-username"] = $"{Section}:{nameof(Username)}",
        ["--registry-password-file"] = $"{Section}:{nameof(PasswordFile)}",
    };

    /// <summary>Where the scheduler talks to the registry (<c>http://127.0.0.1:5000</c>); null turns the feature off.</summary>
    public Uri? Url { get; set; }

    /// <summary>
    /// The registry host as image references spell it (<c>127.0.0.1:5000</c>, <c>registry.example:5000</c>); the
    /// authority of <see cref="Url"/> when empty. Several when hosts reach the registry under different names.
    /// </summary>
    public List<string> Addresses { get; set; } = [];

    /// <summary>The account the scheduler asks for login passwords as: a robot (<c>robot$cluster-pull</c>) with pull rights only.</summary>
    public string? Username { get; set; }

    /// <summary>Its secret, inline. Prefer <see cref="PasswordFile"/>: a command line is visible to every user of the host.</summary>
    public string? Password { get; set; }

    /// <summary>A file (mode 0600) holding the secret; read at every refresh, so a rotated secret is picked up.</summary>
    public string? PasswordFile { get; set; }

    /// <summary>A login password is replaced once less than this fraction of its lifetime is left.</summary>
    public double RenewAtRemainingFraction { get; set; } = 0.5;

    /// <summary>The addresses credentials are handed out for.</summary>
    public IReadOnlyList<string> EffectiveAddresses =>
        Addresses.Count > 0 ? Addresses : Url is null ? [] : [Url.IsDefaultPort ? Url.Host : Url.Authority];
}

/// <summary>Rules across fields of <see cref="RegistryAccessOptions"/>.</summary>
internal sealed class RegistryAccessOptionsValidator : IValidateOptions<RegistryAccessOptions>
{
    public ValidateOptionsResult Validate(string? name, RegistryAccessOptions options)
    {
        if (options.Url is null)
        {
            return options.Username is null && options.Password is null && options.PasswordFile is null && options.Addresses.Count == 0
                ? ValidateOptionsResult.Success
                : ValidateOptionsResult.Fail($"{RegistryAccessOptions.Section}:Url is required when other {RegistryAccessOptions.Section} settings are given.");
        }

        var failures = new List<string>();
        if (!options.Url.IsAbsoluteUri || options.Url.Scheme is not ("http" or "https"))
        {
            failures.Add($"{RegistryAccessOptions.Section}:Url must be an absolute http(s) URL.");
        }

        if (string.IsNullOrEmpty(options.Username))
        {
            failures.Add($"{RegistryAccessOptions.Section}:Username is required (a robot account with pull rights).");
        }

        if (string.IsNullOrEmpty(options.Password) == string.IsNullOrEmpty(options.PasswordFile))
        {
            failures.Add($"{RegistryAccessOptions.Section}: set exactly one of Password and PasswordFile.");
        }

        if (options.Addresses.Any(a => string.IsNullOrWhiteSpace(a) || a.Contains('/', StringComparison.Ordinal)))
        {
            failures.Add($"{RegistryAccessOptions.Section}:Addresses must be registry hosts (host or host:port), without scheme or path.");
        }

        if (options.RenewAtRemainingFraction is <= 0 or >= 1)
        {
            failures.Add($"{RegistryAccessOptions.Section}:RenewAtRemainingFraction must be between 0 and 1.");
        }

        return failures.Count > 0 ? ValidateOptionsResult.Fail(failures) : ValidateOptionsResult.Success;
    }
}
