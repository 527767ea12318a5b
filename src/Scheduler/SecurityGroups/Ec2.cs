using System.Text.RegularExpressions;
using Berth.Scheduler.Kernel;

namespace Berth.Scheduler.SecurityGroups;

/// <summary>
/// EC2's vocabulary for security groups: its error codes first in every refusal's message
/// (<c>InvalidGroup.NotFound: The security group 'sg-…' does not exist in cluster 'apps'.</c>), as the LoadBalancing edge
/// does with ELB's, and its rules for names, descriptions and ids.
/// </summary>
internal static partial class Ec2
{
    /// <summary>EC2: 60 inbound rules per group.</summary>
    public const int MaxRulesPerGroup = 60;

    /// <summary>EC2: 2,500 groups per VPC (here: per cluster).</summary>
    public const int MaxGroupsPerCluster = 2500;

    /// <summary>ECS/EC2: an awsvpc task's interface has at most 5 security groups.</summary>
    public const int MaxGroupsPerTask = 5;

    /// <summary>EC2: names, descriptions and rule descriptions are at most 255 characters.</summary>
    public const int MaxText = 255;

    // EC2 (VPC): a-z, A-Z, 0-9, spaces, and ._-:/()#,@[]+=&;{}!$*
    [GeneratedRegex(@"^[A-Za-z0-9 ._\-:/()#,@\[\]+=&;{}!$*]*$")]
    private static partial Regex TextRegex();

    [GeneratedRegex("^sg-[0-9a-f]{8,17}$")]
    private static partial Regex IdRegex();

    public static StateException InvalidParameterValue(string message) => new(StateError.InvalidArgument, $"InvalidParameterValue: {message}");

    public static StateException MissingParameter(string parameter) => new(StateError.InvalidArgument, $"MissingParameter: The request must contain the parameter {parameter}.");

    public static StateException GroupNotFound(string group, string cluster) =>
        new(StateError.NotFound, $"InvalidGroup.NotFound: The security group '{Printable(group)}' does not exist in cluster '{cluster}'.");

    public static StateException GroupDuplicate(string name, string cluster) =>
        new(StateError.AlreadyExists, $"InvalidGroup.Duplicate: The security group '{Printable(name)}' already exists in cluster '{cluster}'.");

    public static StateException GroupReserved(string name) =>
        new(StateError.InvalidArgument, $"InvalidGroup.Reserved: The security group '{Printable(name)}' is reserved.");

    public static StateException PermissionDuplicate(IngressRule rule) =>
        new(StateError.AlreadyExists, $"InvalidPermission.Duplicate: the specified rule \"{rule}\" already exists.");

    public static StateException PermissionNotFound(IngressRule rule) =>
        new(StateError.NotFound, $"InvalidPermission.NotFound: The specified rule does not exist in this security group: \"{rule}\".");

    public static StateException DependencyViolation(string groupId, string dependent) =>
        new(StateError.FailedPrecondition, $"DependencyViolation: resource {groupId} has a dependent object ({dependent}).");

    public static StateException CannotDelete(string groupId) =>
        new(StateError.InvalidArgument, $"CannotDelete: the specified group: \"{groupId}\" name: \"{SecurityGroupRecord.DefaultName}\" cannot be deleted by a user.");

    public static StateException RulesLimitExceeded() =>
        new(StateError.FailedPrecondition, $"RulesPerSecurityGroupLimitExceeded: The maximum number of rules per security group ({MaxRulesPerGroup}) has been reached.");

    public static StateException GroupLimitExceeded(string cluster) =>
        new(StateError.FailedPrecondition, $"SecurityGroupLimitExceeded: The maximum number of security groups ({MaxGroupsPerCluster}) for cluster '{cluster}' has been reached.");

    /// <summary>Whether <paramref name="reference"/> looks like a group id (else it is a name: names cannot start with <c>sg-</c>).</summary>
    public static bool IsId(string reference) => reference.StartsWith("sg-", StringComparison.Ordinal);

    /// <summary>Whether <paramref name="id"/> is shaped like an id EC2 (and Berth) makes.</summary>
    public static bool IsWellFormedId(string id) => IdRegex().IsMatch(id);

    /// <summary>A group name or description: at most 255 characters of EC2's set; a name is not empty and does not start with <c>sg-</c>.</summary>
    public static void Text(string value, string parameter, bool name)
    {
        if (value.Length == 0)
        {
            throw MissingParameter(parameter);
        }

        if (value.Length > MaxText)
        {
            throw InvalidParameterValue($"Value ({Printable(value)}) for parameter {parameter} is invalid. Length exceeds maximum of {MaxText} characters.");
        }

        if (!TextRegex().IsMatch(value))
        {
            throw InvalidParameterValue($"Value ({Printable(value)}) for parameter {parameter} is invalid. Character sets beyond ASCII are not supported; allowed are a-z, A-Z, 0-9, spaces and ._-:/()#,@[]+=&;{{}}!$*.");
        }

        if (name && IsId(value))
        {
            throw InvalidParameterValue($"Value ({Printable(value)}) for parameter {parameter} is invalid. Group names may not be in the format sg-*.");
        }
    }

    /// <summary>A rule's description: optional, otherwise as <see cref="Text"/>.</summary>
    public static void RuleDescription(string value, string parameter)
    {
        if (value.Length > 0)
        {
            Text(value, parameter, name: false);
        }
    }

    /// <summary>Echoes user input into a message: at most 64 characters, control characters replaced.</summary>
    public static string Printable(string value)
    {
        var text = value.Length <= 64 ? value : value[..64] + "...";
        return string.Create(text.Length, text, static (span, source) =>
        {
            for (var i = 0; i < source.Length; i++)
            {
                span[i] = char.IsControl(source[i]) ? '?' : source[i];
            }
        });
    }
}
