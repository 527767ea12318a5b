using System.Globalization;
using System.Text;
using Berth.Core.Networking;

namespace Berth.Agent.Networking;

/// <summary>
/// The agent's iptables rules as one <c>iptables-restore --noflush</c> document, a pure function of the host network,
/// the local awsvpc tasks and the security groups, so that every rule is a unit test. Declaring a chain in a restore
/// flushes it, and the nft backend applies the whole document in one transaction: the rules are replaced atomically,
/// never half-written, and the agent owns only its <c>BERTH-*</c> chains (Docker's stay as they are).
/// <code>
/// filter  FORWARD -> BERTH-FORWARD: established -> ACCEPT; out the bridge -> BERTH-INGRESS; in from the bridge -> ACCEPT (egress is free)
///         BERTH-INGRESS, per task: its group mates, then its groups' rules -> ACCEPT; the rest -> DROP;
///                       a task in no group -> ACCEPT; any other address of the subnet (a task being wired) -> DROP
/// nat     POSTROUTING -> BERTH-POSTROUTING: to the cluster (or the bridge) -> RETURN; else MASQUERADE
/// </code>
/// </summary>
internal static class FirewallRules
{
    public const string ForwardChain = "BERTH-FORWARD";
    public const string IngressChain = "BERTH-INGRESS";
    public const string NatChain = "BERTH-POSTROUTING";

    public static string Build(string bridge, HostNetworkSpec network, IReadOnlyList<TaskEndpoint> tasks, IReadOnlyDictionary<string, SecurityGroupSpec> groups)
    {
        var text = new StringBuilder();
        var subnet = network.TaskSubnet.ToString();
        text.Append("*filter\n");
        text.Append(CultureInfo.InvariantCulture, $":{ForwardChain} - [0:0]\n");
        text.Append(CultureInfo.InvariantCulture, $":{IngressChain} - [0:0]\n");
        text.Append(CultureInfo.InvariantCulture, $"-A {ForwardChain} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n");
        text.Append(CultureInfo.InvariantCulture, $"-A {ForwardChain} -o {bridge} -j {IngressChain}\n");
        text.Append(CultureInfo.InvariantCulture, $"-A {ForwardChain} -i {bridge} -j ACCEPT\n");
        foreach (var task in tasks.OrderBy(t => Ipv4Cidr.ToUInt(t.Address)))
        {
            var to = $"-A {IngressChain} -d {task.Address}/32";
            var comment = $"-m comment --comment \"task {Quote(task.TaskId)}\"";
            if (task.SecurityGroups is null)
            {
                text.Append(CultureInfo.InvariantCulture, $"{to} {comment} -j DROP\n");
                continue;
            }

            if (task.SecurityGroups.Count == 0)
            {
                text.Append(CultureInfo.InvariantCulture, $"{to} {comment} -j ACCEPT\n");
                continue;
            }

            var lines = new List<string>();
            foreach (var groupId in task.SecurityGroups)
            {
                if (!groups.TryGetValue(groupId, out var group))
                {
                    // A group the scheduler did not send grants nothing (and says so in the rule set).
                    lines.Add($"# unknown security group {groupId}");
                    continue;
                }

                // Members of a group reach each other on every port.
                foreach (var member in group.Members.Where(m => !m.Equals(task.Address)))
                {
                    lines.Add($"{to} -s {member}/32 -j ACCEPT");
                }

                foreach (var rule in group.Ingress)
                {
                    var sources = rule.SourceCidr is { } cidr
                        ? [cidr.ToString()]
                        : rule.SourceGroup is { } source && groups.TryGetValue(source, out var sourceGroup)
                            ? sourceGroup.Members.Select(m => $"{m}/32").ToList()
                            : [];
                    foreach (var from in sources)
                    {
                        lines.Add($"{to} -s {from} {Match(rule)}-j ACCEPT");
                    }
                }
            }

            foreach (var line in lines.Distinct(StringComparer.Ordinal))
            {
                if (!line.StartsWith('#'))
                {
                    text.Append(line).Append('\n');
                }
            }

            text.Append(CultureInfo.InvariantCulture, $"{to} {comment} -j DROP\n");
        }

        // Default deny for the subnet: an address whose task is still being wired gets nothing until its rules exist.
        text.Append(CultureInfo.InvariantCulture, $"-A {IngressChain} -d {subnet} -j DROP\n");
        text.Append("COMMIT\n");

        text.Append("*nat\n");
        text.Append(CultureInfo.InvariantCulture, $":{NatChain} - [0:0]\n");
        var exempt = new List<Ipv4Cidr>();
        if (network.ClusterCidr is { } cluster)
        {
            exempt.Add(cluster);
        }

        exempt.Add(network.TaskSubnet);
        exempt.AddRange(network.Peers.Select(p => p.Subnet));
        foreach (var destination in exempt.Distinct().Where(d => !exempt.Any(o => o != d && o.Contains(d))))
        {
            text.Append(CultureInfo.InvariantCulture, $"-A {NatChain} -s {subnet} -d {destination} -j RETURN\n");
        }

        text.Append(CultureInfo.InvariantCulture, $"-A {NatChain} -s {subnet} -j MASQUERADE\n");
        text.Append("COMMIT\n");
        return text.ToString();
    }

    private static string Match(IngressRule rule)
    {
        var (from, to) = (rule.FromPort, rule.ToPort);
        var allPorts = (from <= 0 && to is 0 or 65535) || (from <= 0 && to <= 0);
        return rule.Protocol switch
        {
            RuleProtocol.Tcp or RuleProtocol.Udp when allPorts => $"-p {Name(rule.Protocol)} ",
            RuleProtocol.Tcp or RuleProtocol.Udp => $"-p {Name(rule.Protocol)} -m {Name(rule.Protocol)} --dport {Math.Max(from, 1).ToString(CultureInfo.InvariantCulture)}:{Math.Max(from, to).ToString(CultureInfo.InvariantCulture)} ",
            RuleProtocol.Icmp => "-p icmp ",
            _ => string.Empty,
        };
    }

    private static string Name(RuleProtocol protocol) => protocol == RuleProtocol.Tcp ? "tcp" : "udp";

    private static string Quote(string value) => new(value.Where(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.').Take(200).ToArray());

    /// <summary>Parses a rule's protocol as EC2 spells it (<c>tcp</c>, <c>udp</c>, <c>icmp</c>, <c>-1</c>/<c>all</c>, or the numbers 6/17/1).</summary>
    public static RuleProtocol? ParseProtocol(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        "tcp" or "6" => RuleProtocol.Tcp,
        "udp" or "17" => RuleProtocol.Udp,
        "icmp" or "1" => RuleProtocol.Icmp,
        "-1" or "all" or "" or null => RuleProtocol.All,
        _ => null,
    };
}
