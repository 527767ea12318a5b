using System.CommandLine.Parsing;
using System.Globalization;

namespace Berth.Cli.Common;

/// <summary>
/// A duration option's value: a <see cref="TimeSpan"/> that help prints as the user writes it (<c>[default: 10m]</c>, not
/// <c>00:10:00</c>).
/// </summary>
internal readonly record struct CliDuration(TimeSpan Value)
{
    public static implicit operator TimeSpan(CliDuration duration) => duration.Value;

    public static implicit operator CliDuration(TimeSpan value) => new(value);

    public override string ToString() => Durations.Format(Value);
}

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

    /// <summary>The shortest of <c>90s</c>, <c>10m</c>, <c>1h</c> that says <paramref name="value"/> exactly (help texts, messages).</summary>
    public static string Format(TimeSpan value) =>
        value.Ticks % TimeSpan.TicksPerHour == 0 ? $"{value.Ticks / TimeSpan.TicksPerHour}h"
        : value.Ticks % TimeSpan.TicksPerMinute == 0 ? $"{value.Ticks / TimeSpan.TicksPerMinute}m"
        : value.Ticks % TimeSpan.TicksPerSecond == 0 ? $"{value.Ticks / TimeSpan.TicksPerSecond}s"
        : value.ToString("c", CultureInfo.InvariantCulture);

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
