using System.CommandLine.Parsing;
using System.Globalization;

namespace Berth.Cli.Common;

/// <summary>Durations on the command line: <c>90s</c>, <c>10m</c>, <c>1h</c>, or a TimeSpan (<c>00:01:30</c>).</summary>
internal static class Durations
{
    public static TimeSpan Parse(ArgumentResult result)
    {
        var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : string.Empty;
        if (TryParse(text, out var value))
        {
            return value;
        }

        result.AddError($"'{text}' is not a duration; use e.g. 90s, 10m or 1h.");
        return default;
    }

    public static bool TryParse(string text, out TimeSpan value)
    {
        value = default;
        if (text.Length > 1 && double.TryParse(text[..^1], NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && number > 0)
        {
            value = text[^1] switch
            {
                's' => TimeSpan.FromSeconds(number),
                'm' => TimeSpan.FromMinutes(number),
                'h' => TimeSpan.FromHours(number),
                _ => default,
            };
            if (value > TimeSpan.Zero)
            {
                return true;
            }
        }

        return TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out value) && value > TimeSpan.Zero;
    }
}
