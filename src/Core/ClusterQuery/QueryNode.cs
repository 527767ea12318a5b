using System.Collections.Immutable;

namespace Berth.Core.ClusterQuery;

/// <summary>What a comparison is about.</summary>
public enum SubjectKind
{
    /// <summary><c>attribute:&lt;name&gt;</c>.</summary>
    Attribute,

    /// <summary><c>agentConnected</c>.</summary>
    AgentConnected,

    /// <summary><c>agentVersion</c>.</summary>
    AgentVersion,

    /// <summary><c>instanceId</c> (also spelled <c>ec2InstanceId</c>, as in ECS).</summary>
    InstanceId,

    /// <summary><c>registeredAt</c>.</summary>
    RegisteredAt,

    /// <summary><c>runningTasksCount</c>.</summary>
    RunningTasksCount,

    /// <summary><c>task:group</c>.</summary>
    TaskGroup,
}

/// <summary>A comparison operator; each has a symbolic and a word form, as ECS documents them.</summary>
public enum QueryOperator
{
    /// <summary><c>==</c>, <c>equals</c>.</summary>
    Equal,

    /// <summary><c>!=</c>, <c>not_equals</c>.</summary>
    NotEqual,

    /// <summary><c>&gt;</c>, <c>greater_than</c>.</summary>
    GreaterThan,

    /// <summary><c>&gt;=</c>, <c>greater_than_equal</c>.</summary>
    GreaterThanOrEqual,

    /// <summary><c>&lt;</c>, <c>less_than</c>.</summary>
    LessThan,

    /// <summary><c>&lt;=</c>, <c>less_than_equal</c>.</summary>
    LessThanOrEqual,

    /// <summary><c>exists</c>.</summary>
    Exists,

    /// <summary><c>!exists</c>, <c>not_exists</c>.</summary>
    NotExists,

    /// <summary><c>in</c>.</summary>
    In,

    /// <summary><c>!in</c>, <c>not_in</c>.</summary>
    NotIn,

    /// <summary><c>=~</c>, <c>matches</c>.</summary>
    Matches,

    /// <summary><c>!~</c>, <c>not_matches</c>.</summary>
    NotMatches,
}

/// <summary>The subject of a comparison; <see cref="AttributeName"/> is canonical (<c>berth.zone</c>) for attributes.</summary>
public readonly record struct QuerySubject(SubjectKind Kind, string? AttributeName)
{
    /// <inheritdoc/>
    public override string ToString() => Kind switch
    {
        SubjectKind.Attribute => "attribute:" + AttributeName,
        SubjectKind.AgentConnected => "agentConnected",
        SubjectKind.AgentVersion => "agentVersion",
        SubjectKind.InstanceId => "instanceId",
        SubjectKind.RegisteredAt => "registeredAt",
        SubjectKind.RunningTasksCount => "runningTasksCount",
        SubjectKind.TaskGroup => "task:group",
        _ => Kind.ToString(),
    };
}

/// <summary>A node of a parsed cluster query.</summary>
public abstract record QueryNode;

/// <summary><c>left &amp;&amp; right</c>.</summary>
public sealed record AndNode(QueryNode Left, QueryNode Right) : QueryNode
{
    /// <inheritdoc/>
    public override string ToString() => $"({Left} && {Right})";
}

/// <summary><c>left || right</c>.</summary>
public sealed record OrNode(QueryNode Left, QueryNode Right) : QueryNode
{
    /// <inheritdoc/>
    public override string ToString() => $"({Left} || {Right})";
}

/// <summary><c>!operand</c>.</summary>
public sealed record NotNode(QueryNode Operand) : QueryNode
{
    /// <inheritdoc/>
    public override string ToString() => $"!{Operand}";
}

/// <summary>
/// <c>subject operator [argument]</c>. <see cref="Arguments"/> is empty for <c>exists</c>/<c>!exists</c>, has one element
/// for a single value and any number for a list (<c>in</c>, <c>!in</c>). <see cref="Position"/> is the subject's offset.
/// </summary>
public sealed record ComparisonNode(QuerySubject Subject, QueryOperator Operator, ImmutableArray<string> Arguments, int Position) : QueryNode
{
    /// <inheritdoc/>
    public override string ToString() => Arguments.Length switch
    {
        0 => $"{Subject} {Operator}",
        1 when Operator is not (QueryOperator.In or QueryOperator.NotIn) => $"{Subject} {Operator} {Arguments[0]}",
        _ => $"{Subject} {Operator} [{string.Join(", ", Arguments)}]",
    };
}
