using System.Globalization;
using Cronos;

namespace Berth.Scheduler.Scaling;

/// <summary>
/// When a scheduled action fires, in Application Auto Scaling's forms: <c>at(2026-12-24T18:00:00)</c> (once, local time
/// of the time zone), <c>rate(5 minutes)</c> (every interval from the action's start) and <c>cron(0 18 ? * MON-FRI *)</c>
/// (minutes hours day-of-month month day-of-week year; the year field must be <c>*</c>). Cron and at are read in the
/// action's time zone (IANA name, UTC when none), so a daylight-saving change moves them with the wall clock.
/// </summary>
internal sealed class ScalingSchedule
{
    private readonly CronExpression? _cron;
    private readonly DateTime? _at;
    private readonly TimeSpan? _rate;

    private ScalingSchedule(string text, TimeZoneInfo zone, CronExpression? cron, DateTime? at, TimeSpan? rate)
    {
        Text = text;
        Zone = zone;
        _cron = cron;
        _at = at;
        _rate = rate;
    }

    /// <summary>The schedule as given.</summary>
    public string Text { get; }

    /// <summary>The time zone it is read in.</summary>
    public TimeZoneInfo Zone { get; }

    /// <summary>Parses a schedule; <see cref="ArgumentException"/> names what is wrong.</summary>
    public static ScalingSchedule Parse(string text, string? timeZone)
    {
        ArgumentNullException.ThrowIfNull(text);
        TimeZoneInfo zone;
        try
        {
            zone = string.IsNullOrEmpty(timeZone) ? TimeZoneInfo.Utc : TimeZoneInfo.FindSystemTimeZoneById(timeZone);
        }
        catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            throw new ArgumentException($"timezone: unknown time zone '{timeZone}' (an IANA name such as Europe/Berlin).");
        }

        var body = Inner(text, "at(");
        if (body is not null)
        {
            if (!DateTime.TryParseExact(body, "yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture, DateTimeStyles.None, out var at))
            {
                throw new ArgumentException($"schedule: '{text}' is not at(yyyy-mm-ddThh:mm:ss).");
            }

            return new ScalingSchedule(text, zone, null, at, null);
        }

        body = Inner(text, "rate(");
        if (body is not null)
        {
            var parts = body.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length != 2 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value < 1)
            {
                throw new ArgumentException($"schedule: '{text}' is not rate(<positive number> <unit>).");
            }

            var rate = parts[1] switch
            {
                "minute" or "minutes" => TimeSpan.FromMinutes(value),
                "hour" or "hours" => TimeSpan.FromHours(value),
                "day" or "days" => TimeSpan.FromDays(value),
                _ => throw new ArgumentException($"schedule: unit '{parts[1]}' of '{text}' is not minute(s), hour(s) or day(s)."),
            };
            return new ScalingSchedule(text, zone, null, null, rate);
        }

        body = Inner(text, "cron(");
        if (body is not null)
        {
            var fields = body.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length != 6)
            {
                throw new ArgumentException($"schedule: '{text}' needs six fields (minutes hours day-of-month month day-of-week year).");
            }

            if (fields[5] != "*")
            {
                throw new ArgumentException($"schedule: the year field of '{text}' must be '*'.");
            }

            try
            {
                return new ScalingSchedule(text, zone, CronExpression.Parse(string.Join(' ', fields[..5])), null, null);
            }
            catch (CronFormatException e)
            {
                throw new ArgumentException($"schedule: '{text}': {e.Message}");
            }
        }

        throw new ArgumentException($"schedule: '{text}' is not at(...), rate(...) or cron(...).");
    }

    /// <summary>The first occurrence strictly after <paramref name="after"/>, or null when there is none (an at() in the past).</summary>
    /// <param name="after">The time after which to look.</param>
    /// <param name="start">For rate(): the first occurrence (the action's start time or its creation).</param>
    public DateTimeOffset? NextAfter(DateTimeOffset after, DateTimeOffset start)
    {
        if (_cron is not null)
        {
            return _cron.GetNextOccurrence(after, Zone);
        }

        if (_at is { } at)
        {
            var when = new DateTimeOffset(at, Zone.GetUtcOffset(at));
            return when > after ? when : null;
        }

        var rate = _rate!.Value;
        if (after < start)
        {
            return start;
        }

        var periods = ((after - start).Ticks / rate.Ticks) + 1;
        return start + TimeSpan.FromTicks(periods * rate.Ticks);
    }

    /// <inheritdoc/>
    public override string ToString() => Text;

    private static string? Inner(string text, string prefix) =>
        text.StartsWith(prefix, StringComparison.Ordinal) && text.EndsWith(')') ? text[prefix.Length..^1].Trim() : null;
}
