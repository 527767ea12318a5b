using System.CommandLine;
using Berth.Scheduler.V1;

namespace Berth.Cli.Common;

/// <summary>
/// <c>--strategy</c> and <c>--constraint</c>, shared by <c>task run</c> and the service commands. Both spellings work:
/// <c>spread:attribute:berth.zone</c> (colon, shell-friendly) and <c>spread(attribute:berth.zone)</c> (as ECS docs write it).
/// </summary>
internal sealed class PlacementArguments
{
    private static readonly string[] s_strategyTypes = ["binpack", "spread", "random"];

    public Option<string[]> Strategies { get; } = new("--strategy")
    {
        Description = "Placement strategy, repeatable, evaluated in order: binpack:cpu|memory, spread:instanceId|attribute:NAME, random",
        AllowMultipleArgumentsPerToken = false,
        HelpName = "TYPE:FIELD",
    };

    public Option<string[]> Constraints { get; } = new("--constraint")
    {
        Description = "Placement constraint, repeatable: distinctInstance or memberOf:EXPRESSION (cluster query language)",
        AllowMultipleArgumentsPerToken = false,
        HelpName = "TYPE[:EXPRESSION]",
    };

    public void AddTo(Command command)
    {
        command.Add(Strategies);
        command.Add(Constraints);
    }

    public List<PlacementStrategy> StrategiesOf(ParseResult parse) => [.. (parse.GetValue(Strategies) ?? []).Select(ParseStrategy)];

    public List<PlacementConstraint> ConstraintsOf(ParseResult parse) => [.. (parse.GetValue(Constraints) ?? []).Select(ParseConstraint)];

    public static PlacementStrategy ParseStrategy(string text)
    {
        var (type, field) = Split(text);
        if (!s_strategyTypes.Contains(type, StringComparer.OrdinalIgnoreCase))
        {
            throw new CliException($"--strategy '{text}': the type must be binpack, spread or random.", ExitCodes.Usage);
        }

        type = type.ToLowerInvariant();
        if (type == "random" && field.Length > 0)
        {
            throw new CliException($"--strategy '{text}': random takes no field.", ExitCodes.Usage);
        }

        if (type != "random" && field.Length == 0)
        {
            throw new CliException($"--strategy '{text}': {type} needs a field, e.g. {(type == "binpack" ? "binpack:memory" : "spread:attribute:berth.zone")}.", ExitCodes.Usage);
        }

        return new PlacementStrategy { Type = type, Field = field };
    }

    public static PlacementConstraint ParseConstraint(string text)
    {
        var (type, expression) = Split(text);
        if (type.Equals("distinctInstance", StringComparison.OrdinalIgnoreCase))
        {
            return expression.Length == 0
                ? new PlacementConstraint { Type = "distinctInstance" }
                : throw new CliException($"--constraint '{text}': distinctInstance takes no expression.", ExitCodes.Usage);
        }

        if (type.Equals("memberOf", StringComparison.OrdinalIgnoreCase))
        {
            return expression.Length > 0
                ? new PlacementConstraint { Type = "memberOf", Expression = expression }
                : throw new CliException($"--constraint '{text}': memberOf needs an expression, e.g. 'memberOf:attribute:berth.zone in [a, b]'.", ExitCodes.Usage);
        }

        throw new CliException($"--constraint '{text}': the type must be distinctInstance or memberOf.", ExitCodes.Usage);
    }

    /// <summary><c>type:rest</c> or <c>type(rest)</c>.</summary>
    private static (string Type, string Remainder) Split(string text)
    {
        text = text.Trim();
        var paren = text.IndexOf('(', StringComparison.Ordinal);
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (paren > 0 && (colon < 0 || paren < colon) && text.EndsWith(')'))
        {
            return (text[..paren].Trim(), text[(paren + 1)..^1].Trim());
        }

        return colon < 0 ? (text, string.Empty) : (text[..colon].Trim(), text[(colon + 1)..].Trim());
    }
}
