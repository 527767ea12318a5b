using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Berth.Registry.Outbox;
using Berth.Registry.Storage;
using Wire = Berth.RegistryAdmin;

namespace Berth.Registry.Replication;

/// <summary>A destination registry, as the worker reaches it.</summary>
internal sealed record ReplicationTarget(string Region, string RegistryId, Uri Url, string? Username, string? Password);

/// <summary>One rule: repositories starting with any prefix (every repository with none) go to every target.</summary>
internal sealed record ReplicationRuleSpec(IReadOnlyList<ReplicationTarget> Targets, IReadOnlyList<string> Prefixes)
{
    public bool Matches(string repository) =>
        Prefixes.Count == 0 || Prefixes.Any(prefix => repository.StartsWith(prefix, StringComparison.Ordinal));
}

/// <summary>The registry's replication configuration (ECR's: rules of destinations and PREFIX_MATCH filters).</summary>
internal sealed record ReplicationRules(IReadOnlyList<ReplicationRuleSpec> Rules)
{
    public static readonly ReplicationRules None = new([]);

    /// <summary>Every target some rule sends <paramref name="repository"/> to, once each (by registry id).</summary>
    public IReadOnlyList<ReplicationTarget> TargetsFor(string repository)
    {
        List<ReplicationTarget>? targets = null;
        foreach (var rule in Rules)
        {
            if (!rule.Matches(repository))
            {
                continue;
            }

            foreach (var target in rule.Targets)
            {
                targets ??= [];
                if (!targets.Exists(t => t.RegistryId == target.RegistryId))
                {
                    targets.Add(target);
                }
            }
        }

        return targets ?? (IReadOnlyList<ReplicationTarget>)[];
    }

    /// <summary>The configuration as the admin API shows it: passwords left out.</summary>
    public Wire.ReplicationConfiguration ToContract() => new(
        [.. Rules.Select(rule => new Wire.ReplicationRule(
            [.. rule.Targets.Select(t => new Wire.ReplicationDestination(t.Region, t.RegistryId, t.Url.ToString(), t.Username))],
            rule.Prefixes.Count == 0 ? null : [.. rule.Prefixes.Select(p => new Wire.RepositoryFilter(p, ReplicationRulesParser.PrefixMatch))]))]);

    /// <summary>The database's own format (passwords included: the worker needs them).</summary>
    public string ToDocument() => JsonSerializer.Serialize(
        new StoredConfiguration([.. Rules.Select(r => new StoredRule([.. r.Targets.Select(t => new StoredTarget(t.Region, t.RegistryId, t.Url.ToString(), t.Username, t.Password))], [.. r.Prefixes]))]),
        ReplicationStorageJsonContext.Default.StoredConfiguration);

    public static ReplicationRules FromDocument(string document)
    {
        var stored = JsonSerializer.Deserialize(document, ReplicationStorageJsonContext.Default.StoredConfiguration)
            ?? throw new InvalidDataException("the stored replication configuration is empty");
        return new([.. stored.Rules.Select(r => new ReplicationRuleSpec(
            [.. r.Targets.Select(t => new ReplicationTarget(t.Region, t.RegistryId, new Uri(t.Url), t.Username, t.Password))], r.Prefixes))]);
    }
}

internal sealed record StoredConfiguration(List<StoredRule> Rules);

internal sealed record StoredRule(List<StoredTarget> Targets, List<string> Prefixes);

internal sealed record StoredTarget(string Region, string RegistryId, string Url, string? Username, string? Password);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(StoredConfiguration))]
internal sealed partial class ReplicationStorageJsonContext : JsonSerializerContext;

/// <summary>
/// The configuration in force, read by every push (inside its transaction: <see cref="IOutboxInterest"/>) and swapped
/// whole when PutReplicationConfiguration commits.
/// </summary>
internal sealed class ReplicationConfigurationHolder : IOutboxInterest
{
    private volatile ReplicationRules _rules = ReplicationRules.None;

    public ReplicationRules Current => _rules;

    public void Set(ReplicationRules rules) => _rules = rules;

    // Deletes are not replicated (ECR does not either); a push is recorded when some rule matches its repository.
    public bool Wants(in RegistryChange change) =>
        change.Action == ChangeAction.Push && _rules.Rules.Count > 0 && _rules.TargetsFor(change.Repository).Count > 0;
}

/// <summary>
/// Validates a PutReplicationConfiguration body with ECR's limits and words: constraint violations as AWS's
/// <c>ValidationException</c> ("N validation errors detected: Value ... at '...' failed to satisfy constraint: ..."),
/// the rest (Berth's destination URL and credentials) as <c>InvalidParameterException</c>.
/// </summary>
internal static partial class ReplicationRulesParser
{
    public const string PrefixMatch = "PREFIX_MATCH";
    public const int MaxRules = 10;
    public const int MaxDestinations = 100;
    public const int MaxFilters = 100;

    // ECR's RepositoryFilter.filter pattern and length (2-256).
    [GeneratedRegex("^(?:[a-z0-9]+(?:[._-][a-z0-9]*)*/)*[a-z0-9]*(?:[._-][a-z0-9]*)*$")]
    private static partial Regex FilterPattern();

    // ECR's region pattern.
    [GeneratedRegex("^[0-9a-z-]{2,25}$")]
    private static partial Regex RegionPattern();

    // Berth's registry ids: a name or host:port (ECR's are 12-digit accounts, which this also accepts).
    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9.:_-]{0,254}$")]
    private static partial Regex RegistryIdPattern();

    /// <summary>The rules, or the refusal: <paramref name="code"/> (ECR's exception name) and <paramref name="problem"/>.</summary>
    public static bool TryParse(Wire.ReplicationConfiguration? configuration, out ReplicationRules rules, out string code, out string problem)
    {
        rules = ReplicationRules.None;
        var violations = new List<string>();
        var invalid = new List<string>();
        if (configuration is null)
        {
            violations.Add(Violation("null", "replicationConfiguration", "Member must not be null"));
        }
        else if (configuration.Rules is null)
        {
            violations.Add(Violation("null", "replicationConfiguration.rules", "Member must not be null"));
        }
        else
        {
            if (configuration.Rules.Count > MaxRules)
            {
                violations.Add(Violation($"'[{configuration.Rules.Count} rules]'", "replicationConfiguration.rules", $"Member must have length less than or equal to {MaxRules}"));
            }

            var parsed = new List<ReplicationRuleSpec>();
            var urls = new Dictionary<string, string>(StringComparer.Ordinal);
            for (var r = 0; r < configuration.Rules.Count; r++)
            {
                var at = $"replicationConfiguration.rules.{r + 1}.member";
                var rule = configuration.Rules[r];
                if (rule is null)
                {
                    violations.Add(Violation("null", at, "Member must not be null"));
                    continue;
                }

                var targets = new List<ReplicationTarget>();
                if (rule.Destinations is null)
                {
                    violations.Add(Violation("null", $"{at}.destinations", "Member must not be null"));
                }
                else
                {
                    if (rule.Destinations.Count > MaxDestinations)
                    {
                        violations.Add(Violation($"'[{rule.Destinations.Count} destinations]'", $"{at}.destinations", $"Member must have length less than or equal to {MaxDestinations}"));
                    }

                    for (var d = 0; d < rule.Destinations.Count; d++)
                    {
                        if (Target(rule.Destinations[d], $"{at}.destinations.{d + 1}.member", violations, invalid) is { } target)
                        {
                            if (urls.TryGetValue(target.RegistryId, out var url) && url != target.Url.ToString())
                            {
                                invalid.Add($"Invalid parameter at '{at}.destinations.{d + 1}.member.registryId': '{target.RegistryId}' names two different destination URLs");
                            }

                            urls[target.RegistryId] = target.Url.ToString();
                            targets.Add(target);
                        }
                    }
                }

                var prefixes = new List<string>();
                if (rule.RepositoryFilters is { } filters)
                {
                    if (filters.Count is < 1 or > MaxFilters)
                    {
                        violations.Add(Violation($"'[{filters.Count} filters]'", $"{at}.repositoryFilters", filters.Count < 1
                            ? "Member must have length greater than or equal to 1"
                            : $"Member must have length less than or equal to {MaxFilters}"));
                    }

                    for (var f = 0; f < filters.Count; f++)
                    {
                        var fat = $"{at}.repositoryFilters.{f + 1}.member";
                        var filter = filters[f];
                        if (filter?.FilterType is not PrefixMatch)
                        {
                            violations.Add(Violation(filter?.FilterType is null ? "null" : $"'{filter.FilterType}'", $"{fat}.filterType", filter?.FilterType is null
                                ? "Member must not be null"
                                : $"Member must satisfy enum value set: [{PrefixMatch}]"));
                        }

                        if (filter?.Filter is not { } prefix)
                        {
                            violations.Add(Violation("null", $"{fat}.filter", "Member must not be null"));
                        }
                        else if (prefix.Length is < 2 or > 256)
                        {
                            violations.Add(Violation($"'{prefix}'", $"{fat}.filter", prefix.Length < 2
                                ? "Member must have length greater than or equal to 2"
                                : "Member must have length less than or equal to 256"));
                        }
                        else if (!FilterPattern().IsMatch(prefix))
                        {
                            violations.Add(Violation($"'{prefix}'", $"{fat}.filter", $"Member must satisfy regular expression pattern: {FilterPattern()}"));
                        }
                        else
                        {
                            prefixes.Add(prefix);
                        }
                    }
                }

                parsed.Add(new ReplicationRuleSpec(targets, prefixes));
            }

            rules = new ReplicationRules(parsed);
        }

        if (violations.Count > 0)
        {
            code = "ValidationException";
            problem = $"{violations.Count} validation error{(violations.Count == 1 ? "" : "s")} detected: {string.Join("; ", violations)}";
            rules = ReplicationRules.None;
            return false;
        }

        if (invalid.Count > 0)
        {
            code = "InvalidParameterException";
            problem = string.Join("; ", invalid);
            rules = ReplicationRules.None;
            return false;
        }

        code = problem = "";
        return true;
    }

    private static ReplicationTarget? Target(Wire.ReplicationDestination? destination, string at, List<string> violations, List<string> invalid)
    {
        if (destination is null)
        {
            violations.Add(Violation("null", at, "Member must not be null"));
            return null;
        }

        if (destination.Region is { } region && !RegionPattern().IsMatch(region))
        {
            violations.Add(Violation($"'{region}'", $"{at}.region", $"Member must satisfy regular expression pattern: {RegionPattern()}"));
        }

        if (destination.Url is not { } text || !Uri.TryCreate(text, UriKind.Absolute, out var url)
            || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps) || url.AbsolutePath != "/" || url.Query.Length > 0)
        {
            invalid.Add($"Invalid parameter at '{at}.url': a destination is a Berth registry's base URL (http://host:port or https://host:port), not '{destination.Url}'");
            return null;
        }

        var registryId = destination.RegistryId ?? url.Authority;
        if (!RegistryIdPattern().IsMatch(registryId))
        {
            violations.Add(Violation($"'{registryId}'", $"{at}.registryId", $"Member must satisfy regular expression pattern: {RegistryIdPattern()}"));
        }

        if ((destination.Username is null) != (destination.Password is null))
        {
            invalid.Add($"Invalid parameter at '{at}': username and password go together (a robot or user of the destination and its secret or login password)");
        }

        return new ReplicationTarget(destination.Region ?? "local", registryId, url, destination.Username, destination.Password);
    }

    private static string Violation(string value, string at, string constraint) =>
        $"Value {value} at '{at}' failed to satisfy constraint: {constraint}";
}
