using System.Text.RegularExpressions;
using Berth.Core.ClusterQuery;
using Berth.Scheduler.Kernel;

namespace Berth.Scheduler.Instances;

/// <summary>
/// What an agent may say about its host (<c>Register</c> and <c>Hello</c> come from anyone holding the join token or an
/// instance credential): every value is later printed in operators' terminals and matched by placement, so each has
/// an allowed set of characters and a length, lists have counts, resources have bounds, and the built-in attribute
/// names are the scheduler's own. A refusal is INVALID_ARGUMENT naming the field.
/// </summary>
internal static partial class HostFactsValidator
{
    /// <summary>ECS: attribute names and values are at most 128 characters.</summary>
    public const int MaxAttributeLength = 128;

    /// <summary>ECS: at most 10 custom attributes per resource.</summary>
    public const int MaxCustomAttributes = 10;

    /// <summary>RFC 1035: a host name is at most 253 characters.</summary>
    public const int MaxHostnameLength = 253;

    /// <summary>Zone, instance type, OS type, CPU architecture, agent and runtime versions.</summary>
    public const int MaxTokenLength = 128;

    /// <summary>ECS: at most 100 reserved ports per protocol.</summary>
    public const int MaxReservedPorts = 100;

    /// <summary>1,048,576 CPU units: a 1,024-vCPU host.</summary>
    public const int MaxCpu = 1024 * 1024;

    /// <summary>64 TiB in MiB.</summary>
    public const int MaxMemory = 64 * 1024 * 1024;

    /// <summary>The built-in attributes: set from the facts' own fields, never by a custom attribute.</summary>
    public static readonly IReadOnlySet<string> BuiltInAttributes = new HashSet<string>(StringComparer.Ordinal)
    {
        AttributeNames.OsType,
        AttributeNames.CpuArchitecture,
        AttributeNames.Zone,
        AttributeNames.InstanceType,
        AttributeNames.TaskEni,
    };

    // Host names: letters, digits, hyphens, dots, underscores (DNS names and what `hostname` prints).
    [GeneratedRegex("^[A-Za-z0-9._-]*$")]
    private static partial Regex HostnameRegex();

    // Zones, instance types, OS types, architectures and versions: printable ASCII words (no spaces, no control characters).
    [GeneratedRegex("^[A-Za-z0-9._:/+@-]*$")]
    private static partial Regex TokenRegex();

    // ECS attribute names: letters, digits, hyphens, underscores, periods, at signs, forward slashes, colons.
    [GeneratedRegex(@"^[A-Za-z0-9_.\-/:@]{1,128}$")]
    private static partial Regex AttributeNameRegex();

    // ECS attribute values: the same set and spaces.
    [GeneratedRegex(@"^[A-Za-z0-9_.\-/:@ ]*$")]
    private static partial Regex AttributeValueRegex();

    /// <summary>Validates facts (<paramref name="prefix"/> names them in errors) and returns their custom attributes by canonical name.</summary>
    public static SortedDictionary<string, string> Validate(HostFacts facts, string prefix = "facts")
    {
        if (facts.Cpu is < 1 or > MaxCpu)
        {
            throw StateException.Invalid($"{prefix}.cpu must be 1-{MaxCpu} CPU units.");
        }

        if (facts.Memory is < 1 or > MaxMemory)
        {
            throw StateException.Invalid($"{prefix}.memory must be 1-{MaxMemory} MiB.");
        }

        Text(facts.Hostname, $"{prefix}.hostname", MaxHostnameLength, HostnameRegex(), "letters, digits, '.', '-' and '_'");
        Token(facts.Zone, $"{prefix}.zone");
        Token(facts.InstanceType, $"{prefix}.instance_type");
        Token(facts.OsType, $"{prefix}.os_type");
        Token(facts.CpuArchitecture, $"{prefix}.cpu_architecture");
        Token(facts.AgentVersion, $"{prefix}.agent_version");
        Token(facts.RuntimeVersion, $"{prefix}.runtime_version");
        Ports(facts.ReservedPorts, $"{prefix}.reserved_ports");
        Ports(facts.ReservedPortsUdp, $"{prefix}.reserved_ports_udp");
        if (facts.DynamicPortFirst is < 0 or > 65535 || facts.DynamicPortLast is < 0 or > 65535 || facts.DynamicPortFirst > facts.DynamicPortLast)
        {
            throw StateException.Invalid($"{prefix}.dynamic_port_first and dynamic_port_last must be 0 or a range within 1-65535.");
        }

        // Balancers connect to it as a target's id: an IP address, as an ip target's (a name would be resolved by every
        // balancer replica on its own, and could differ between them).
        if (facts.AdvertiseAddress.Length > 0 && (facts.AdvertiseAddress.Length > 45 || !System.Net.IPAddress.TryParse(facts.AdvertiseAddress, out _)))
        {
            throw StateException.Invalid($"{prefix}.advertise_address: '{Shown(facts.AdvertiseAddress)}' is not an IP address.");
        }

        if (facts.Attributes.Length > MaxCustomAttributes)
        {
            throw StateException.Invalid($"{prefix}.attributes: at most {MaxCustomAttributes} custom attributes.");
        }

        var custom = new SortedDictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < facts.Attributes.Length; i++)
        {
            var (name, value) = facts.Attributes[i];
            custom[Attribute(name, value, $"{prefix}.attributes[{i}]", allowBerthNames: true)] = value;
        }

        return custom;
    }

    /// <summary>
    /// Validates one custom attribute and returns its canonical name. Built-in names (and their <c>ecs.*</c> aliases)
    /// are always refused; other <c>berth.*</c>/<c>ecs.*</c> names (agent capabilities) only when
    /// <paramref name="allowBerthNames"/> is false (the API).
    /// </summary>
    public static string Attribute(string name, string value, string field, bool allowBerthNames)
    {
        if (string.IsNullOrEmpty(name) || !AttributeNameRegex().IsMatch(name))
        {
            throw StateException.Invalid($"{field}: attribute name '{Shown(name)}' must be 1-{MaxAttributeLength} letters, digits, and . - _ / : @.");
        }

        if (value.Length > MaxAttributeLength)
        {
            throw StateException.Invalid($"{field}: the value of attribute '{name}' must be at most {MaxAttributeLength} characters.");
        }

        if (!AttributeValueRegex().IsMatch(value))
        {
            throw StateException.Invalid($"{field}: the value of attribute '{name}' may hold letters, digits, spaces and . - _ / : @ only.");
        }

        var canonical = AttributeNames.Normalize(name);
        if (BuiltInAttributes.Contains(canonical))
        {
            throw StateException.Invalid($"{field}: attribute '{name}' is built in (set from the host facts) and cannot be set as a custom attribute.");
        }

        if (!allowBerthNames && canonical.StartsWith("berth.", StringComparison.Ordinal))
        {
            throw StateException.Invalid($"{field}: attribute '{name}' is reserved (berth.* and ecs.* names are the scheduler's and the agent's).");
        }

        return canonical;
    }

    private static void Token(string value, string field) =>
        Text(value, field, MaxTokenLength, TokenRegex(), "letters, digits and . _ : / + @ -");

    private static void Text(string value, string field, int maxLength, Regex allowed, string allowedText)
    {
        if (value.Length > maxLength)
        {
            throw StateException.Invalid($"{field}: at most {maxLength} characters.");
        }

        if (!allowed.IsMatch(value))
        {
            throw StateException.Invalid($"{field}: '{Shown(value)}' may hold {allowedText} only.");
        }
    }

    private static void Ports(IReadOnlyCollection<int> ports, string field)
    {
        if (ports.Count > MaxReservedPorts)
        {
            throw StateException.Invalid($"{field}: at most {MaxReservedPorts} ports.");
        }

        foreach (var port in ports)
        {
            if (port is < 1 or > 65535)
            {
                throw StateException.Invalid($"{field}: {port} is not a port (1-65535).");
            }
        }
    }

    /// <summary>A value as it may appear in an error: control characters escaped, long values cut.</summary>
    private static string Shown(string value)
    {
        var cut = value.Length > 40 ? value[..40] + "..." : value;
        var text = new System.Text.StringBuilder(cut.Length);
        foreach (var c in cut)
        {
            if (char.IsControl(c))
            {
                text.Append(System.Globalization.CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
            }
            else
            {
                text.Append(c);
            }
        }

        return text.ToString();
    }
}
