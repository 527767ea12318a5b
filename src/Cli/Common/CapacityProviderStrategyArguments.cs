using System.CommandLine;
using Berth.Scheduler.V1;

namespace Berth.Cli.Common;

/// <summary>
/// A capacity provider strategy item on the command line: <c>provider=NAME,base=N,weight=N</c> (base and weight optional,
/// 0 when not given), with <c>capacityProvider=</c> accepted as the aws CLI spells the key.
/// </summary>
internal static class CapacityProviderStrategyArguments
{
    /// <summary>
    /// <c>--capacity-provider-strategy</c> of <c>task run</c> and <c>service create|update</c>: one item per use (an
    /// empty value, on update, goes back to the launch type).
    /// </summary>
    public static Option<string[]> StrategyOption() => new("--capacity-provider-strategy")
    {
        Description = "An item of the capacity provider strategy, repeatable: provider=NAME[,base=N][,weight=N] (not with --launch-type)",
        AllowMultipleArgumentsPerToken = false,
    };

    /// <summary>The items given with <paramref name="option"/> (empty values skipped).</summary>
    public static IEnumerable<CapacityProviderStrategyItem> Of(ParseResult parse, Option<string[]> option) =>
        (parse.GetValue(option) ?? []).Where(v => v.Length > 0).Select(v => Parse(v, option.Name));

    public static CapacityProviderStrategyItem Parse(string text, string option)
    {
        var item = new CapacityProviderStrategyItem();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries))
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw Usage(text, option);
            }

            var (key, value) = (part[..eq], part[(eq + 1)..]);
            switch (key)
            {
                case "provider" or "capacityProvider":
                    item.CapacityProvider = value;
                    break;
                case "base":
                    item.Base = Number(value, text, option);
                    break;
                case "weight":
                    item.Weight = Number(value, text, option);
                    break;
                default:
                    throw Usage(text, option);
            }
        }

        return item.CapacityProvider.Length > 0 ? item : throw Usage(text, option);
    }

    private static int Number(string value, string text, string option) =>
        int.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) ? n : throw Usage(text, option);

    private static CliException Usage(string text, string option) =>
        new($"{option} '{text}': expected provider=NAME[,base=N][,weight=N].", ExitCodes.Usage);
}
