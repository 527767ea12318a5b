using System.Text;
using Berth.Scheduler.Kernel;

namespace Berth.Scheduler.SecurityGroups;

/// <summary>
/// What hosts are told about a cluster's security groups: each group's rules and its members' addresses. A member is an
/// awsvpc task of the group that is not STOPPED and holds an address (its agent reported it); a task asked to stop stays
/// a member until it stopped, since it may still answer.
/// </summary>
internal static class SecurityGroupMembership
{
    /// <summary>Every group of the cluster with its members, ordered by id (members ordered too, so equal states compare equal).</summary>
    public static IReadOnlyList<PublishedSecurityGroup> Of(ClusterState cluster)
    {
        if (cluster.SecurityGroups.Count == 0)
        {
            return [];
        }

        var members = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        // Only awsvpc tasks' details are read (and decoded, for a task loaded at start-up).
        foreach (var task in cluster.AwsvpcTasks)
        {
            if (task.LastStatus == LifecycleStatus.Stopped || task.Attachment is not { Released: false } attachment || attachment.Ipv4Address.Length == 0)
            {
                continue;
            }

            foreach (var group in task.SecurityGroups)
            {
                if (!members.TryGetValue(group, out var list))
                {
                    members[group] = list = [];
                }

                list.Add(attachment.Ipv4Address);
            }
        }

        var published = new List<PublishedSecurityGroup>(cluster.SecurityGroups.Count);
        foreach (var group in cluster.SecurityGroups.Values.OrderBy(g => g.Id, StringComparer.Ordinal))
        {
            var addresses = members.TryGetValue(group.Id, out var list) ? [.. list.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)] : System.Collections.Immutable.ImmutableArray<string>.Empty;
            published.Add(new PublishedSecurityGroup(group.Id, group.Name, group.Ingress, addresses));
        }

        return published;
    }

    /// <summary>A text form of the groups, equal exactly when they are (what the observer compares).</summary>
    public static string Fingerprint(IReadOnlyList<PublishedSecurityGroup> groups)
    {
        var text = new StringBuilder();
        foreach (var group in groups)
        {
            text.Append(group.Id).Append(' ').Append(group.Name).Append('|');
            foreach (var rule in group.Ingress)
            {
                text.Append(rule.Protocol).Append(',').Append(rule.FromPort).Append(',').Append(rule.ToPort).Append(',')
                    .Append(rule.SourceCidr).Append(',').Append(rule.SourceGroupId).Append(',').Append(rule.Description).Append(';');
            }

            text.Append('|').AppendJoin(',', group.Members).Append('\n');
        }

        return text.ToString();
    }
}
