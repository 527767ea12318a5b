using System.Net;

namespace Berth.Agent.Dns;

/// <summary>The kind of a service discovery record set.</summary>
internal enum ServiceRecordKind
{
    A,
    Srv,
}

/// <summary>One SRV answer and the address of its target.</summary>
internal sealed record SrvAnswer(string Target, IPAddress Address, int Port, int Priority, int Weight);

/// <summary>The answers to one name and kind (<see cref="Ttl"/> null: the agent's default).</summary>
internal sealed record ServiceRecordSet(string Name, ServiceRecordKind Kind, TimeSpan? Ttl, IReadOnlyList<IPAddress> Addresses, IReadOnlyList<SrvAnswer> Srv);

/// <summary>
/// Everything this host's DNS server answers: the namespaces it is authoritative for and their records, indexed by
/// name (lower case, no trailing dot). Immutable: the server reads one snapshot per query while a new desired state
/// replaces it.
/// </summary>
internal sealed class ServiceDiscoverySpec
{
    public static readonly ServiceDiscoverySpec Empty = new([], []);

    private readonly Dictionary<string, List<ServiceRecordSet>> _byName = new(StringComparer.Ordinal);

    public ServiceDiscoverySpec(IReadOnlyList<string> namespaces, IReadOnlyList<ServiceRecordSet> records)
    {
        Namespaces = namespaces.Select(Normalize).Where(n => n.Length > 0).Distinct(StringComparer.Ordinal).ToList();
        Records = records;
        foreach (var set in records)
        {
            Add(Normalize(set.Name), set);

            // An SRV target's name answers A with its address, so one lookup chain resolves both.
            foreach (var target in set.Srv)
            {
                Add(Normalize(target.Target), new ServiceRecordSet(target.Target, ServiceRecordKind.A, set.Ttl, [target.Address], []));
            }
        }
    }

    public IReadOnlyList<string> Namespaces { get; }

    public IReadOnlyList<ServiceRecordSet> Records { get; }

    /// <summary>The record sets of <paramref name="name"/> (any kind); empty when there are none.</summary>
    public IReadOnlyList<ServiceRecordSet> Lookup(string name) =>
        _byName.TryGetValue(Normalize(name), out var sets) ? sets : [];

    /// <summary>Whether the server answers for <paramref name="name"/> itself (a record or a namespace of ours) instead of forwarding.</summary>
    public bool IsAuthoritativeFor(string name)
    {
        var n = Normalize(name);
        return _byName.ContainsKey(n) || Namespaces.Any(z => n == z || n.EndsWith("." + z, StringComparison.Ordinal));
    }

    public static string Normalize(string name) => name.Trim().TrimEnd('.').ToLowerInvariant();

    private void Add(string name, ServiceRecordSet set)
    {
        if (!_byName.TryGetValue(name, out var list))
        {
            _byName[name] = list = [];
        }

        list.Add(set);
    }
}
