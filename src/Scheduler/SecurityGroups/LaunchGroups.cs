using System.Collections.Immutable;
using Berth.Scheduler.Kernel;

namespace Berth.Scheduler.SecurityGroups;

/// <summary>
/// Which security groups a task joins (ECS networkConfiguration.awsvpcConfiguration.securityGroups): checked at RunTask,
/// CreateService and UpdateService in ECS's words, and resolved again for each task a service launches. An awsvpc task
/// that names none joins its cluster's <c>default</c> group, as an ENI without groups gets its VPC's default group.
/// </summary>
internal static class LaunchGroups
{
    /// <summary>The cluster's default group, made now if it has none (a cluster made before groups existed).</summary>
    public static SecurityGroupRecord EnsureDefault(ClusterTransaction tx)
    {
        if (SecurityGroupHandler.FindByName(tx.Cluster, SecurityGroupRecord.DefaultName) is { } existing)
        {
            return existing;
        }

        var group = SecurityGroupHandler.NewGroup(tx, SecurityGroupRecord.DefaultName, $"default security group of cluster {tx.Cluster.Name}");
        tx.PutSecurityGroup(group);
        return group;
    }

    /// <summary>
    /// Checks the groups a RunTask or service names for a task definition: none unless it is awsvpc (ECS's refusal), at
    /// most 5, each an id of a group of the cluster. Returns them without repeats (the order given).
    /// </summary>
    public static ImmutableArray<string> Validate(ClusterState cluster, TaskDefinitionRecord definition, ImmutableArray<string> groups)
    {
        if (groups.IsDefaultOrEmpty)
        {
            return [];
        }

        if (definition.Definition.NetworkMode != "awsvpc")
        {
            throw StateException.Invalid("Network Configuration is not valid for the given networkMode of this task definition (security groups need networkMode awsvpc).");
        }

        var distinct = groups.Distinct(StringComparer.Ordinal).ToImmutableArray();
        if (distinct.Length > Ec2.MaxGroupsPerTask)
        {
            throw StateException.Invalid($"network_configuration.awsvpc_configuration.security_groups: at most {Ec2.MaxGroupsPerTask} security groups per task ({distinct.Length} given).");
        }

        var unknown = distinct.Where(g => !cluster.SecurityGroups.ContainsKey(g)).ToList();
        if (unknown.Count > 0)
        {
            var list = string.Join(", ", unknown.Select(Ec2.Printable));
            throw StateException.Invalid(
                $"Error retrieving security group information for [{list}]: The security group '{Ec2.Printable(unknown[0])}' does not exist in cluster '{cluster.Name}' (ErrorCode: InvalidGroup.NotFound)");
        }

        return distinct;
    }

    /// <summary>
    /// The groups a new task joins: for an awsvpc task those given (checked before, and kept from deletion since) or else
    /// the cluster's default group; none for other network modes.
    /// </summary>
    public static ImmutableArray<string> ForTask(ClusterTransaction tx, TaskDefinitionRecord definition, ImmutableArray<string> given)
    {
        if (definition.Definition.NetworkMode != "awsvpc")
        {
            return [];
        }

        var known = given.IsDefaultOrEmpty ? [] : given.Where(tx.Cluster.SecurityGroups.ContainsKey).ToImmutableArray();
        return known.IsEmpty ? [EnsureDefault(tx).Id] : known;
    }
}
