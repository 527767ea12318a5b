using System.Collections.Immutable;
using System.Security.Cryptography;
using Berth.Core.Networking;
using Berth.Scheduler.Kernel;

namespace Berth.Scheduler.SecurityGroups;

/// <summary>
/// Security groups (EC2's CreateSecurityGroup, DescribeSecurityGroups, DeleteSecurityGroup, AuthorizeSecurityGroupIngress,
/// RevokeSecurityGroupIngress) as records of the cluster they belong to; refusals in EC2's words (<see cref="Ec2"/>).
/// What hosts enforce follows through the change feed (<see cref="SecurityGroupObserver"/>).
/// </summary>
internal sealed class SecurityGroupHandler(StateKernel kernel)
{
    public Task<T> CreateAsync<T>(string clusterReference, string name, string description, Func<SecurityGroupRecord, T> view)
    {
        var cluster = Arns.ClusterName(clusterReference);
        Ec2.Text(name, "GroupName", name: true);
        Ec2.Text(description, "GroupDescription", name: false);
        return kernel.CommitAsync(cluster, tx =>
        {
            tx.Cluster.RequireActive();
            LaunchGroups.EnsureDefault(tx);
            if (name == SecurityGroupRecord.DefaultName)
            {
                throw Ec2.GroupReserved(name);
            }

            if (FindByName(tx.Cluster, name) is not null)
            {
                throw Ec2.GroupDuplicate(name, cluster);
            }

            if (tx.Cluster.SecurityGroups.Count >= Ec2.MaxGroupsPerCluster)
            {
                throw Ec2.GroupLimitExceeded(cluster);
            }

            var group = NewGroup(tx, name, description);
            tx.PutSecurityGroup(group);
            return view(group);
        });
    }

    /// <summary>
    /// The groups named by id or name (every one must exist, as EC2 answers), or every group of the cluster when none is
    /// named, ordered by name and paged.
    /// </summary>
    public async Task<(List<T> Groups, string NextToken)> DescribeAsync<T>(SecurityGroupQuery query, Func<SecurityGroupRecord, T> view)
    {
        var cluster = Arns.ClusterName(query.Cluster);
        if (kernel.ReadCluster(cluster, c => c is { IsActive: true } && FindByName(c, SecurityGroupRecord.DefaultName) is null))
        {
            // A cluster made before security groups existed gets its default group when someone first looks, as a VPC has one.
            await kernel.CommitAsync(cluster, tx => LaunchGroups.EnsureDefault(tx));
        }

        return kernel.ReadCluster(cluster, state =>
        {
            if (state?.IsActive != true)
            {
                throw StateException.NotFound($"Cluster '{cluster}' not found.");
            }

            var wanted = new List<SecurityGroupRecord>();
            foreach (var id in query.GroupIds)
            {
                wanted.Add(state.SecurityGroups.GetValueOrDefault(id) ?? throw Ec2.GroupNotFound(id, cluster));
            }

            foreach (var name in query.GroupNames)
            {
                wanted.Add(FindByName(state, name) ?? throw Ec2.GroupNotFound(name, cluster));
            }

            var all = query.GroupIds.Count == 0 && query.GroupNames.Count == 0;
            var ordered = (all ? state.SecurityGroups.Values : wanted.Distinct())
                .OrderBy(g => g.Name, StringComparer.Ordinal);
            var (page, next) = Paging.Page(ordered, query.MaxResults, query.NextToken, g => g.Name);
            return (page.ConvertAll(g => view(g)), next);
        });
    }

    /// <summary>Deletes a group no task, service or other group's rule uses (EC2's DependencyViolation otherwise).</summary>
    public Task<string> DeleteAsync(string clusterReference, string reference)
    {
        var cluster = Arns.ClusterName(clusterReference);
        return kernel.CommitAsync(cluster, tx =>
        {
            var group = Find(tx.Cluster, reference, "GroupId");
            if (group.IsDefault)
            {
                throw Ec2.CannotDelete(group.Id);
            }

            if (Dependent(tx.Cluster, group) is { } dependent)
            {
                throw Ec2.DependencyViolation(group.Id, dependent);
            }

            tx.RemoveSecurityGroup(group.Id);
            return group.Id;
        });
    }

    /// <summary>Adds ingress rules; every one must be new (InvalidPermission.Duplicate), the group stays within 60 rules.</summary>
    public Task<T> AuthorizeAsync<T>(string clusterReference, string reference, IReadOnlyList<IpPermissionSpec> permissions, Func<SecurityGroupRecord, T> view)
    {
        var cluster = Arns.ClusterName(clusterReference);
        return kernel.CommitAsync(cluster, tx =>
        {
            var group = Find(tx.Cluster, reference, "GroupId");
            var rules = Normalize(tx.Cluster, group, permissions);
            var added = new List<IngressRule>();
            foreach (var rule in rules)
            {
                if (group.Ingress.Any(r => r.SameAs(rule)) || added.Any(r => r.SameAs(rule)))
                {
                    throw Ec2.PermissionDuplicate(rule);
                }

                added.Add(rule);
            }

            if (group.Ingress.Length + added.Count > Ec2.MaxRulesPerGroup)
            {
                throw Ec2.RulesLimitExceeded();
            }

            group.Ingress = group.Ingress.AddRange(added);
            tx.PutSecurityGroup(group);
            return view(group);
        });
    }

    /// <summary>Removes ingress rules; every one must exist (InvalidPermission.NotFound; descriptions are not compared, as in EC2).</summary>
    public Task<T> RevokeAsync<T>(string clusterReference, string reference, IReadOnlyList<IpPermissionSpec> permissions, Func<SecurityGroupRecord, T> view)
    {
        var cluster = Arns.ClusterName(clusterReference);
        return kernel.CommitAsync(cluster, tx =>
        {
            var group = Find(tx.Cluster, reference, "GroupId");
            var remaining = group.Ingress.ToList();
            foreach (var rule in Normalize(tx.Cluster, group, permissions, revoking: true))
            {
                var index = remaining.FindIndex(r => r.SameAs(rule));
                if (index < 0)
                {
                    throw Ec2.PermissionNotFound(rule);
                }

                remaining.RemoveAt(index);
            }

            group.Ingress = [.. remaining];
            tx.PutSecurityGroup(group);
            return view(group);
        });
    }

    /// <summary>A new group with a fresh id (<c>sg-</c> and 17 hex digits, unique in the cluster).</summary>
    internal static SecurityGroupRecord NewGroup(ClusterTransaction tx, string name, string description, ImmutableArray<IngressRule> ingress = default)
    {
        string id;
        do
        {
            id = "sg-" + RandomNumberGenerator.GetHexString(17, lowercase: true);
        }
        while (tx.Cluster.SecurityGroups.ContainsKey(id));

        return new SecurityGroupRecord
        {
            Id = id,
            Cluster = tx.Cluster.Name,
            Name = name,
            Description = description,
            CreatedAt = tx.Now,
            Ingress = ingress.IsDefault ? [] : ingress,
        };
    }

    internal static SecurityGroupRecord? FindByName(ClusterState cluster, string name) =>
        cluster.SecurityGroups.Values.FirstOrDefault(g => g.Name == name);

    /// <summary>A group of an ACTIVE cluster by id or name; EC2's errors otherwise.</summary>
    private static SecurityGroupRecord Find(ClusterState cluster, string reference, string parameter)
    {
        cluster.RequireActive();
        if (string.IsNullOrEmpty(reference))
        {
            throw Ec2.MissingParameter(parameter);
        }

        var group = Ec2.IsId(reference) ? cluster.SecurityGroups.GetValueOrDefault(reference) : FindByName(cluster, reference);
        return group ?? throw Ec2.GroupNotFound(reference, cluster.Name);
    }

    /// <summary>What keeps a group from being deleted, in words; null when nothing does.</summary>
    private static string? Dependent(ClusterState cluster, SecurityGroupRecord group)
    {
        foreach (var task in cluster.AwsvpcTasks)
        {
            if (task.LastStatus != LifecycleStatus.Stopped && task.SecurityGroups.Contains(group.Id))
            {
                return $"task {task.Id} uses it";
            }
        }

        foreach (var service in cluster.Services.Values)
        {
            if (service.Status != Statuses.Inactive && service.SecurityGroups.Contains(group.Id))
            {
                return $"service {service.Name} names it";
            }
        }

        foreach (var other in cluster.SecurityGroups.Values)
        {
            if (!ReferenceEquals(other, group) && other.Ingress.Any(r => r.SourceGroupId == group.Id))
            {
                return $"a rule of {other.Id} ({other.Name}) names it as its source";
            }
        }

        return null;
    }

    /// <summary>
    /// EC2 IpPermissions to rules of one source each, validated: protocol <c>tcp</c>, <c>udp</c>, <c>icmp</c> or
    /// <c>-1</c>/<c>all</c> (or their numbers), a port range for tcp/udp, every ICMP type for icmp, IPv4 CIDRs
    /// (normalised) and groups of the same cluster as sources.
    /// </summary>
    private static List<IngressRule> Normalize(ClusterState cluster, SecurityGroupRecord group, IReadOnlyList<IpPermissionSpec> permissions, bool revoking = false)
    {
        if (permissions.Count == 0)
        {
            throw Ec2.MissingParameter("IpPermissions");
        }

        var rules = new List<IngressRule>();
        foreach (var permission in permissions)
        {
            var protocol = Protocol(permission.Protocol);
            var (from, to) = Ports(protocol, permission.FromPort, permission.ToPort);
            if (permission.Sources.IsEmpty)
            {
                throw Ec2.InvalidParameterValue($"The IP permission for protocol {Ec2.Printable(permission.Protocol)} names no source: give an IPv4 CIDR (ip_ranges) or a security group (user_id_group_pairs).");
            }

            foreach (var source in permission.Sources)
            {
                var description = source.Description ?? "";
                Ec2.RuleDescription(description, "Description");
                if (!string.IsNullOrEmpty(source.Cidr) && !string.IsNullOrEmpty(source.GroupId))
                {
                    throw Ec2.InvalidParameterValue("A source is either an IPv4 CIDR or a security group, not both.");
                }

                if (!string.IsNullOrEmpty(source.Cidr))
                {
                    if (!Ipv4Cidr.TryParse(source.Cidr, out var cidr))
                    {
                        throw Ec2.InvalidParameterValue($"CIDR block {Ec2.Printable(source.Cidr)} is malformed (an IPv4 CIDR: a.b.c.d/n).");
                    }

                    rules.Add(new IngressRule(protocol, from, to, cidr.Value.ToString(), null, description));
                }
                else if (!string.IsNullOrEmpty(source.GroupId))
                {
                    // A revoke may name a group deleted meanwhile only if a rule still names it, which deletion prevents.
                    var known = source.GroupId == group.Id || cluster.SecurityGroups.ContainsKey(source.GroupId)
                        || (revoking && group.Ingress.Any(r => r.SourceGroupId == source.GroupId));
                    if (!known)
                    {
                        throw Ec2.GroupNotFound(source.GroupId, cluster.Name);
                    }

                    rules.Add(new IngressRule(protocol, from, to, null, source.GroupId, description));
                }
                else
                {
                    throw Ec2.InvalidParameterValue("A source needs an IPv4 CIDR (cidr_ip) or a security group id (group_id).");
                }
            }
        }

        return rules;
    }

    private static string Protocol(string value) => value.Trim().ToLowerInvariant() switch
    {
        "" => throw Ec2.MissingParameter("IpProtocol"),
        "tcp" or "6" => "tcp",
        "udp" or "17" => "udp",
        "icmp" or "1" => "icmp",
        "-1" or "all" => "-1",
        _ => throw Ec2.InvalidParameterValue($"Invalid value '{Ec2.Printable(value)}' for IP protocol. Unknown protocol (Berth filters tcp, udp, icmp and -1/all)."),
    };

    private static (int From, int To) Ports(string protocol, int? from, int? to)
    {
        switch (protocol)
        {
            case "tcp" or "udp":
                if (from is null || to is null)
                {
                    throw Ec2.InvalidParameterValue("Invalid value 'Must specify both from and to ports with TCP/UDP.' for portRange.");
                }

                if (from is < 0 or > 65535 || to is < 0 or > 65535 || from > to)
                {
                    throw Ec2.InvalidParameterValue($"Invalid value '{from}-{to}' for portRange: ports are 0-65535 and from_port is at most to_port.");
                }

                if (to == 0)
                {
                    throw Ec2.InvalidParameterValue("Invalid value '0-0' for portRange: port 0 is no port a task listens on; 0-65535 means every port.");
                }

                return (from.Value, to.Value);
            case "icmp":
                // The hosts' firewall matches ICMP as a whole: a narrower rule would allow more than it says.
                if (from is not (null or -1) || to is not (null or -1))
                {
                    throw Ec2.InvalidParameterValue($"Invalid value '{from}/{to}' for icmp: Berth filters ICMP as a whole; from_port (type) and to_port (code) must be -1 (every type and code).");
                }

                return (-1, -1);
            default:
                // EC2 ignores ports for -1 (every protocol).
                return (-1, -1);
        }
    }
}

/// <summary>An EC2 IpPermission as given: the protocol, the ports (null when absent) and one or more sources.</summary>
internal sealed record IpPermissionSpec(string Protocol, int? FromPort, int? ToPort, ImmutableArray<RuleSource> Sources);

/// <summary>One source of an IpPermission: an IPv4 CIDR (IpRange) or a group id (UserIdGroupPair), with a description.</summary>
internal sealed record RuleSource(string? Cidr, string? GroupId, string? Description);

/// <summary>DescribeSecurityGroups's filters.</summary>
internal sealed record SecurityGroupQuery
{
    public string Cluster { get; init; } = "";

    public IReadOnlyList<string> GroupIds { get; init; } = [];

    public IReadOnlyList<string> GroupNames { get; init; } = [];

    public int MaxResults { get; init; }

    public string NextToken { get; init; } = "";
}
