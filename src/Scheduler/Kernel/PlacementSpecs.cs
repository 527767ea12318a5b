using PlacementConstraint = Berth.Scheduler.Placement.PlacementConstraint;
using PlacementRequest = Berth.Scheduler.Placement.PlacementRequest;
using PlacementStrategy = Berth.Scheduler.Placement.PlacementStrategy;

namespace Berth.Scheduler.Kernel;

/// <summary>Placement strategies and constraints as users give them (RunTask, services), parsed; errors name the field.</summary>
internal static class PlacementSpecs
{
    /// <summary>ECS: a memberOf expression is at most 2,000 characters.</summary>
    public const int MaxExpressionLength = 2000;

    /// <summary>At most five strategies (ECS).</summary>
    public static List<PlacementStrategy> ParseStrategies(IReadOnlyList<PlacementSpec> given)
    {
        if (given.Count > PlacementRequest.MaxStrategies)
        {
            throw StateException.Invalid($"placement_strategy: at most {PlacementRequest.MaxStrategies} strategies.");
        }

        var strategies = new List<PlacementStrategy>();
        for (var i = 0; i < given.Count; i++)
        {
            var (type, field) = given[i];
            if (field.Length > 255)
            {
                throw StateException.Invalid($"placement_strategy[{i}].field: at most 255 characters.");
            }

            try
            {
                strategies.Add(PlacementStrategy.Create(type, string.IsNullOrEmpty(field) ? null : field));
            }
            catch (ArgumentException e)
            {
                throw StateException.Invalid($"placement_strategy[{i}]: {e.Message}");
            }
        }

        return strategies;
    }

    /// <summary>The task definition's placement constraints and the given ones (at most 10 together).</summary>
    public static List<PlacementConstraint> ParseConstraints(TaskDefinitionRecord definition, IEnumerable<PlacementSpec> given)
    {
        var constraints = new List<PlacementConstraint>();
        var all = (definition.Definition.PlacementConstraints ?? []).Select(c => (Type: c.Type ?? "", Expression: c.Expression, Where: "task definition placementConstraints"))
            .Concat(given.Select(c => (c.Type, Expression: (string?)c.Value, Where: "placement_constraints")))
            .ToList();
        if (all.Count > 10)
        {
            throw StateException.Invalid("placement_constraints: at most 10 placement constraints (task definition and request together).");
        }

        foreach (var (type, expression, where) in all)
        {
            if (expression?.Length > MaxExpressionLength)
            {
                throw StateException.Invalid($"{where}: an expression is at most {MaxExpressionLength} characters.");
            }

            try
            {
                constraints.Add(PlacementConstraint.Create(type, string.IsNullOrEmpty(expression) ? null : expression));
            }
            catch (Exception e) when (e is ArgumentException or FormatException)
            {
                throw StateException.Invalid($"{where}: {e.Message}");
            }
        }

        return constraints;
    }

    /// <summary>What every awsvpc task requires of its host.</summary>
    public static readonly PlacementConstraint NeedsTaskSubnet = PlacementConstraint.MemberOf($"attribute:{Core.ClusterQuery.AttributeNames.TaskEni} exists");

    /// <summary>
    /// The constraints the task definition implies, added where tasks are placed and never stored or shown (as ECS
    /// implies <c>ecs.capability.task-eni</c> for awsvpc): a host without a task subnet (its cluster's CIDR full, or
    /// none) cannot give an awsvpc task an address, so the task goes to another host or fails placement with
    /// ATTRIBUTE instead of starting there and failing. Not counted among the 10.
    /// </summary>
    public static IEnumerable<PlacementConstraint> Implied(TaskDefinitionRecord definition) =>
        definition.Definition.NetworkMode == "awsvpc" ? [NeedsTaskSubnet] : [];

    /// <summary>The service's own constraints (the given ones, after the task definition's).</summary>
    public static List<PlacementConstraint> OwnConstraints(TaskDefinitionRecord definition, IEnumerable<PlacementSpec> given) =>
        ParseConstraints(definition, given).Skip(definition.Definition.PlacementConstraints?.Count ?? 0).ToList();
}
