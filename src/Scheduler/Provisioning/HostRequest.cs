using System.Text.RegularExpressions;

namespace Berth.Scheduler.Provisioning;

/// <summary>What a host should be: the caller's name for it, where it registers, and what it says about itself.</summary>
/// <param name="Name">Unique among the provisioner's hosts, chosen and recorded by the caller before the create: 1-63 lower-case letters, digits or '-', starting with a letter or digit (a DNS label, so a VM can be named after it).</param>
/// <param name="Cluster">The cluster the host's agent joins.</param>
/// <param name="SchedulerUrl">The scheduler's gRPC address as the host reaches it.</param>
/// <param name="JoinToken">A one-use token for the agent's registration; handed to the host, never logged.</param>
/// <param name="Zone">The host's zone (<c>berth.zone</c>); empty for none.</param>
/// <param name="InstanceType">The host's instance type attribute; empty for none.</param>
/// <param name="Attributes">Custom instance attributes. The provisioner adds <c>berth.host-name</c> = <paramref name="Name"/>, so the caller finds the container instance a host registered.</param>
internal sealed partial record HostRequest(
    string Name,
    string Cluster,
    Uri SchedulerUrl,
    string JoinToken,
    string Zone = "",
    string InstanceType = "",
    IReadOnlyDictionary<string, string>? Attributes = null)
{
    /// <summary>The attribute every provisioned host's agent registers with: the host's name.</summary>
    public const string HostNameAttribute = "berth.host-name";

    /// <summary>The attributes the agent registers with: the request's plus <see cref="HostNameAttribute"/>.</summary>
    public IReadOnlyDictionary<string, string> AgentAttributes =>
        new SortedDictionary<string, string>(
            (Attributes ?? new Dictionary<string, string>()).ToDictionary(a => a.Key, a => a.Value),
            StringComparer.Ordinal)
        {
            [HostNameAttribute] = Name,
        };

    /// <summary>The first problem with the request, naming the field; null when it is valid.</summary>
    public string? Validate()
    {
        if (!IsValidName(Name))
        {
            return $"name: '{Name}' must be 1-63 lower-case letters, digits or '-', starting with a letter or digit.";
        }

        if (!ClusterPattern().IsMatch(Cluster))
        {
            return $"cluster: '{Cluster}' must be 1-255 letters, digits, '-' or '_'.";
        }

        if (!SchedulerUrl.IsAbsoluteUri || SchedulerUrl.Scheme is not ("http" or "https"))
        {
            return $"schedulerUrl: '{SchedulerUrl}' must be an absolute http or https URL.";
        }

        if (string.IsNullOrWhiteSpace(JoinToken) || JoinToken.Any(char.IsControl))
        {
            return "joinToken: must be a non-empty token without control characters.";
        }

        if (!AttributeValuePattern().IsMatch(Zone))
        {
            return $"zone: '{Zone}' may hold only letters, digits, '.', '_' and '-' (at most 128).";
        }

        if (!AttributeValuePattern().IsMatch(InstanceType))
        {
            return $"instanceType: '{InstanceType}' may hold only letters, digits, '.', '_' and '-' (at most 128).";
        }

        foreach (var (key, value) in Attributes ?? new Dictionary<string, string>())
        {
            // ECS's rule for custom attribute names and values, minus the characters a shell or JSON would have to escape.
            if (!AttributeNamePattern().IsMatch(key) || key == HostNameAttribute)
            {
                return $"attributes: name '{key}' must be 1-128 letters, digits, '.', '_', '-' or '/' (and not {HostNameAttribute}, which the provisioner sets).";
            }

            if (value.Length == 0 || !AttributeValuePattern().IsMatch(value))
            {
                return $"attributes: value of '{key}' must be 1-128 letters, digits, '.', '_' or '-'.";
            }
        }

        return null;
    }

    /// <summary>Whether <paramref name="name"/> is a valid host name (a DNS label in lower case).</summary>
    public static bool IsValidName(string? name) => name is not null && NamePattern().IsMatch(name);

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{0,62}$")]
    private static partial Regex NamePattern();

    [GeneratedRegex("^[A-Za-z0-9_-]{1,255}$")]
    private static partial Regex ClusterPattern();

    [GeneratedRegex("^[A-Za-z0-9._/-]{1,128}$")]
    private static partial Regex AttributeNamePattern();

    [GeneratedRegex("^[A-Za-z0-9._-]{0,128}$")]
    private static partial Regex AttributeValuePattern();
}
