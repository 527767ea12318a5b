using Berth.Core.ClusterQuery;

namespace Berth.Scheduler.Placement;

/// <summary>Placement strategy type, as in ECS.</summary>
internal enum PlacementStrategyType
{
    /// <summary>Fewest remaining <c>cpu</c> or <c>memory</c> first: fill instances before using new ones.</summary>
    Binpack,

    /// <summary>Evenly across the values of a field (<c>instanceId</c> or <c>attribute:&lt;name&gt;</c>).</summary>
    Spread,

    /// <summary>Any instance that fits, chosen at random.</summary>
    Random,
}

/// <summary>
/// One placement strategy. <see cref="Field"/> is canonical: <c>cpu</c>/<c>memory</c> for binpack,
/// <c>instanceId</c> (also given as <c>host</c>) or <c>attribute:berth.zone</c> (also given as
/// <c>attribute:ecs.availability-zone</c>) for spread, null for random.
/// </summary>
internal sealed record PlacementStrategy
{
    private PlacementStrategy(PlacementStrategyType type, string? field)
    {
        Type = type;
        Field = field;
    }

    /// <summary>The strategy type.</summary>
    public PlacementStrategyType Type { get; }

    /// <summary>The canonical field, see the type's summary.</summary>
    public string? Field { get; }

    /// <summary>For spread by attribute: the canonical attribute name; null otherwise.</summary>
    public string? SpreadAttribute => Type == PlacementStrategyType.Spread && Field!.StartsWith("attribute:", StringComparison.Ordinal)
        ? Field["attribute:".Length..]
        : null;

    /// <summary><c>binpack(cpu)</c> or <c>binpack(memory)</c>.</summary>
    public static PlacementStrategy Binpack(string field) => Create("binpack", field);

    /// <summary><c>spread(instanceId)</c>, <c>spread(host)</c> or <c>spread(attribute:&lt;name&gt;)</c>.</summary>
    public static PlacementStrategy Spread(string field) => Create("spread", field);

    /// <summary><c>random</c>.</summary>
    public static PlacementStrategy Random() => new(PlacementStrategyType.Random, null);

    /// <summary>
    /// Creates a strategy from ECS's JSON shape (<c>{"type": "spread", "field": "attribute:ecs.availability-zone"}</c>),
    /// throwing <see cref="ArgumentException"/> that names the bad part.
    /// </summary>
    public static PlacementStrategy Create(string type, string? field)
    {
        ArgumentNullException.ThrowIfNull(type);
        switch (type)
        {
            case "binpack":
                return field switch
                {
                    "cpu" or "CPU" => new(PlacementStrategyType.Binpack, "cpu"),
                    "memory" or "MEMORY" => new(PlacementStrategyType.Binpack, "memory"),
                    _ => throw new ArgumentException($"binpack field must be 'cpu' or 'memory', not '{field}'.", nameof(field)),
                };
            case "spread":
                if (field is "instanceId" or "host")
                {
                    return new(PlacementStrategyType.Spread, "instanceId");
                }

                if (field is not null && field.StartsWith("attribute:", StringComparison.Ordinal) && field.Length > "attribute:".Length)
                {
                    return new(PlacementStrategyType.Spread, "attribute:" + AttributeNames.Normalize(field["attribute:".Length..]));
                }

                throw new ArgumentException($"spread field must be 'instanceId', 'host' or 'attribute:<name>', not '{field}'.", nameof(field));
            case "random":
                if (!string.IsNullOrEmpty(field))
                {
                    throw new ArgumentException("random takes no field.", nameof(field));
                }

                return Random();
            default:
                throw new ArgumentException($"Unknown placement strategy type '{type}' (expected binpack, spread or random).", nameof(type));
        }
    }

    /// <summary>Parses the CLI form: <c>binpack(memory)</c>, <c>spread(attribute:berth.zone)</c>, <c>random</c>.</summary>
    public static PlacementStrategy Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var open = text.IndexOf('(', StringComparison.Ordinal);
        if (open < 0)
        {
            return Create(text.Trim(), null);
        }

        if (!text.EndsWith(')'))
        {
            throw new ArgumentException($"Placement strategy '{text}' lacks its closing ')'.", nameof(text));
        }

        return Create(text[..open].Trim(), text[(open + 1)..^1].Trim());
    }

    /// <inheritdoc/>
    public override string ToString() => Field is null ? "random" : $"{Type.ToString().ToLowerInvariant()}({Field})";
}

/// <summary>Placement constraint type, as in ECS.</summary>
internal enum PlacementConstraintType
{
    /// <summary>Each task of the group (and of the request) on a different instance.</summary>
    DistinctInstance,

    /// <summary>Only instances that satisfy a cluster query expression.</summary>
    MemberOf,
}

/// <summary>One placement constraint; <see cref="Expression"/> is set for <c>memberOf</c>.</summary>
internal sealed record PlacementConstraint
{
    private PlacementConstraint(PlacementConstraintType type, ClusterQuery? expression)
    {
        Type = type;
        Expression = expression;
    }

    /// <summary>The constraint type.</summary>
    public PlacementConstraintType Type { get; }

    /// <summary>The parsed expression of a memberOf constraint.</summary>
    public ClusterQuery? Expression { get; }

    /// <summary><c>distinctInstance</c>.</summary>
    public static PlacementConstraint DistinctInstance() => new(PlacementConstraintType.DistinctInstance, null);

    /// <summary><c>memberOf</c>; throws <see cref="ClusterQuerySyntaxException"/> for a bad expression.</summary>
    public static PlacementConstraint MemberOf(string expression) => new(PlacementConstraintType.MemberOf, ClusterQuery.Parse(expression));

    /// <summary>Creates a constraint from ECS's JSON shape (<c>{"type": "memberOf", "expression": "..."}</c>).</summary>
    public static PlacementConstraint Create(string type, string? expression) => type switch
    {
        "distinctInstance" when string.IsNullOrEmpty(expression) => DistinctInstance(),
        "distinctInstance" => throw new ArgumentException("distinctInstance takes no expression.", nameof(expression)),
        "memberOf" when !string.IsNullOrWhiteSpace(expression) => MemberOf(expression),
        "memberOf" => throw new ArgumentException("memberOf needs an expression.", nameof(expression)),
        _ => throw new ArgumentException($"Unknown placement constraint type '{type}' (expected distinctInstance or memberOf).", nameof(type)),
    };

    /// <inheritdoc/>
    public override string ToString() => Expression is null ? "distinctInstance" : $"memberOf({Expression})";
}

/// <summary>
/// A request to place <see cref="Count"/> identical tasks. Tasks are placed one after another; each placement updates
/// the working state, so spread, binpack, distinctInstance and <c>task:group</c> see the earlier tasks of the request.
/// </summary>
internal sealed record PlacementRequest
{
    /// <summary>ECS allows at most five strategies in a chain.</summary>
    public const int MaxStrategies = 5;

    /// <summary>What each task reserves.</summary>
    public required TaskRequirements Task { get; init; }

    /// <summary>How many tasks (at least 1).</summary>
    public int Count { get; init; } = 1;

    /// <summary>
    /// The task group (ECS: <c>family:web</c>, <c>service:web</c> or a user's name). Spread counts tasks of this group,
    /// distinctInstance avoids instances hosting it; null counts all tasks.
    /// </summary>
    public string? Group { get; init; }

    /// <summary>
    /// Strategies (at most five), evaluated in order: later ones break ties of earlier ones. Remaining ties, and an empty
    /// list, go to the instance with the most remaining memory, then the lowest instance id.
    /// </summary>
    public IReadOnlyList<PlacementStrategy> Strategies { get; init; } = [];

    /// <summary>Constraints; an instance must satisfy all of them.</summary>
    public IReadOnlyList<PlacementConstraint> Constraints { get; init; } = [];

    /// <summary>Seed for <c>random</c> and nothing else; with a seed the whole result is deterministic.</summary>
    public int? RandomSeed { get; init; }
}
