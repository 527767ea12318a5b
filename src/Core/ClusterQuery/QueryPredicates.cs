using System.Globalization;
using System.Text.RegularExpressions;

namespace Berth.Core.ClusterQuery;

/// <summary>Turns one comparison into a predicate, parsing and validating its arguments once, at parse time.</summary>
internal static class QueryPredicates
{

    private static readonly string[] s_dateFormats =
    [
        "yyyy-MM-dd'T'HH:mm:sszzz",
        "yyyy-MM-dd'T'HH:mm:ss'Z'",
        "yyyy-MM-dd'T'HH:mm:ss",
        "yyyy-MM-dd",
    ];

    public static Func<IClusterQueryTarget, bool> Compile(ComparisonNode node, List<int> positions, string text)
    {
        var op = node.Operator;
        var args = node.Arguments;
        switch (node.Subject.Kind)
        {
            case SubjectKind.Attribute:
            {
                var name = node.Subject.AttributeName!;
                if (op == QueryOperator.Exists)
                {
                    return t => t.TryGetAttribute(name, out _);
                }

                if (op == QueryOperator.NotExists)
                {
                    return t => !t.TryGetAttribute(name, out _);
                }

                var test = CompileStringTest(op, args, positions, text, OrderedCompare);
                // ECS: "attribute:stack != prod" lists instances that have the attribute with another value, so every
                // operator, negative ones included, needs the attribute to be present with a value.
                return t => t.TryGetAttribute(name, out var value) && value is not null && test(value);
            }

            case SubjectKind.InstanceId:
            {
                var test = CompileStringTest(op, args, positions, text, OrderedCompare);
                return t => test(t.InstanceId);
            }

            case SubjectKind.AgentConnected:
            {
                if (op is QueryOperator.Equal or QueryOperator.NotEqual or QueryOperator.In or QueryOperator.NotIn)
                {
                    for (var i = 0; i < args.Length; i++)
                    {
                        if (!bool.TryParse(args[i], out _))
                        {
                            throw new ClusterQuerySyntaxException(text, positions[i], "true or false", $"'{args[i]}'");
                        }
                    }
                }

                var test = CompileStringTest(op, [.. args.Select(a => bool.TryParse(a, out var b) ? (b ? "true" : "false") : a)], positions, text, OrderedCompare);
                return t => test(t.AgentConnected ? "true" : "false");
            }

            case SubjectKind.AgentVersion:
            {
                var version = args[0];
                if (version.Length == 0 || !char.IsAsciiDigit(version[0]))
                {
                    throw new ClusterQuerySyntaxException(text, positions[0], "a version such as 1.14.5", $"'{version}'");
                }

                return t => t.AgentVersion is { } v && CompareResult(op, CompareVersions(v, version));
            }

            case SubjectKind.RegisteredAt:
            {
                var (instant, dateOnly) = ParseDate(args[0], positions[0], text);
                if (dateOnly && op is QueryOperator.Equal or QueryOperator.NotEqual)
                {
                    // A bare date names a whole (UTC) day.
                    var day = DateOnly.FromDateTime(instant.UtcDateTime);
                    return op == QueryOperator.Equal
                        ? t => DateOnly.FromDateTime(t.RegisteredAt.UtcDateTime) == day
                        : t => DateOnly.FromDateTime(t.RegisteredAt.UtcDateTime) != day;
                }

                return t => CompareResult(op, t.RegisteredAt.CompareTo(instant));
            }

            case SubjectKind.RunningTasksCount:
            {
                if (!int.TryParse(args[0], NumberStyles.None, CultureInfo.InvariantCulture, out var count))
                {
                    throw new ClusterQuerySyntaxException(text, positions[0], "a whole number of tasks", $"'{args[0]}'");
                }

                return t => CompareResult(op, t.RunningTasksCount.CompareTo(count));
            }

            case SubjectKind.TaskGroup:
                return CompileTaskGroup(op, args, positions, text);

            default:
                throw new InvalidOperationException($"Unknown subject {node.Subject}.");
        }
    }

    private static Func<IClusterQueryTarget, bool> CompileTaskGroup(
        QueryOperator op, IReadOnlyList<string> args, List<int> positions, string text)
    {
        switch (op)
        {
            case QueryOperator.Exists:
                return t => t.TaskGroups.Any();
            case QueryOperator.NotExists:
                return t => !t.TaskGroups.Any();
            case QueryOperator.Matches or QueryOperator.NotMatches:
            {
                var regex = CompileRegex(args[0], positions[0], text);
                return op == QueryOperator.Matches
                    ? t => t.TaskGroups.Any(regex.IsMatch)
                    : t => !t.TaskGroups.Any(regex.IsMatch);
            }

            default:
            {
                // task:group == g selects instances hosting a task of g; != and !in select those hosting none.
                var tests = args.Select(a => a.Contains('*', StringComparison.Ordinal)
                    ? (Func<IClusterQueryTarget, bool>)(t => t.TaskGroups.Any(g => Glob.IsMatch(g, a)))
                    : t => t.HasTaskGroup(a)).ToArray();
                Func<IClusterQueryTarget, bool> any = tests.Length == 1 ? tests[0] : t => Array.Exists(tests, test => test(t));
                return op is QueryOperator.Equal or QueryOperator.In ? any : t => !any(t);
            }
        }
    }

    private static Func<string, bool> CompileStringTest(
        QueryOperator op, IReadOnlyList<string> args, List<int> positions, string text, Func<string, string, int> compare)
    {
        switch (op)
        {
            case QueryOperator.Equal or QueryOperator.NotEqual or QueryOperator.In or QueryOperator.NotIn:
            {
                var patterns = args.ToArray();
                var hasGlob = patterns.Any(p => p.Contains('*', StringComparison.Ordinal));
                Func<string, bool> any = patterns.Length == 1 && !hasGlob
                    ? v => string.Equals(v, patterns[0], StringComparison.Ordinal)
                    : v => Array.Exists(patterns, p => Glob.IsMatch(v, p));
                return op is QueryOperator.Equal or QueryOperator.In ? any : v => !any(v);
            }

            case QueryOperator.Matches or QueryOperator.NotMatches:
            {
                var regex = CompileRegex(args[0], positions[0], text);
                return op == QueryOperator.Matches ? regex.IsMatch : v => !regex.IsMatch(v);
            }

            case QueryOperator.GreaterThan or QueryOperator.GreaterThanOrEqual or QueryOperator.LessThan or QueryOperator.LessThanOrEqual:
            {
                var argument = args[0];
                return v => CompareResult(op, compare(v, argument));
            }

            default:
                throw new InvalidOperationException($"Operator {op} has no string test.");
        }
    }

    private static Regex CompileRegex(string pattern, int position, string text)
    {
        try
        {
            // Java's Pattern.matches (which ECS uses) matches the whole value. The non-backtracking engine runs in time
            // linear in the value, so a user's pattern can neither stall placement nor need a wall-clock timeout — a
            // timeout fired on a busy machine for a harmless pattern, failing a placement for no reason of its own.
            return new Regex(@"\A(?:" + pattern + @")\z", RegexOptions.CultureInvariant | RegexOptions.NonBacktracking);
        }
        catch (ArgumentException e)
        {
            throw new ClusterQuerySyntaxException(text, position, "a valid regular expression", $"'{pattern}' ({e.Message})");
        }
        catch (NotSupportedException e)
        {
            throw new ClusterQuerySyntaxException(
                text, position, "a regular expression without backreferences, lookaround or atomic groups", $"'{pattern}' ({e.Message})");
        }
    }

    private static (DateTimeOffset Instant, bool DateOnly) ParseDate(string value, int position, string text)
    {
        if (DateTimeOffset.TryParseExact(value, s_dateFormats, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var instant))
        {
            return (instant, value.Length == "yyyy-MM-dd".Length);
        }

        throw new ClusterQuerySyntaxException(
            text, position, "a date (2018-06-18T22:28:28+00:00, 2018-06-18T22:28:28Z, 2018-06-18T22:28:28 or 2018-06-18)", $"'{value}'");
    }

    private static bool CompareResult(QueryOperator op, int comparison) => op switch
    {
        QueryOperator.Equal => comparison == 0,
        QueryOperator.NotEqual => comparison != 0,
        QueryOperator.GreaterThan => comparison > 0,
        QueryOperator.GreaterThanOrEqual => comparison >= 0,
        QueryOperator.LessThan => comparison < 0,
        QueryOperator.LessThanOrEqual => comparison <= 0,
        _ => throw new InvalidOperationException($"Operator {op} is not an ordering."),
    };

    /// <summary>Numbers compare as numbers, dotted versions as versions, anything else ordinally.</summary>
    internal static int OrderedCompare(string left, string right)
    {
        if (decimal.TryParse(left, NumberStyles.Float, CultureInfo.InvariantCulture, out var l)
            && decimal.TryParse(right, NumberStyles.Float, CultureInfo.InvariantCulture, out var r))
        {
            return l.CompareTo(r);
        }

        if (LooksLikeVersion(left) && LooksLikeVersion(right))
        {
            return CompareVersions(left, right);
        }

        return string.CompareOrdinal(left, right);
    }

    private static bool LooksLikeVersion(string value) =>
        value.Length > 0 && char.IsAsciiDigit(value[0]) && value.All(c => char.IsAsciiDigit(c) || c == '.');

    /// <summary>Compares dot/dash separated versions segment by segment, numerically where both segments are numbers.</summary>
    internal static int CompareVersions(string left, string right)
    {
        var a = left.Split('.', '-');
        var b = right.Split('.', '-');
        for (var i = 0; i < Math.Max(a.Length, b.Length); i++)
        {
            var x = i < a.Length ? a[i] : "0";
            var y = i < b.Length ? b[i] : "0";
            int c;
            if (long.TryParse(x, NumberStyles.None, CultureInfo.InvariantCulture, out var xn)
                && long.TryParse(y, NumberStyles.None, CultureInfo.InvariantCulture, out var yn))
            {
                c = xn.CompareTo(yn);
            }
            else
            {
                c = string.CompareOrdinal(x, y);
            }

            if (c != 0)
            {
                return c;
            }
        }

        return 0;
    }
}

/// <summary>Wildcard match where <c>*</c> matches any run of characters (possibly empty) and everything else is literal.</summary>
internal static class Glob
{
    public static bool IsMatch(string value, string pattern)
    {
        int v = 0, p = 0, starP = -1, starV = 0;
        while (v < value.Length)
        {
            if (p < pattern.Length && pattern[p] == '*')
            {
                starP = p++;
                starV = v;
            }
            else if (p < pattern.Length && pattern[p] == value[v])
            {
                p++;
                v++;
            }
            else if (starP >= 0)
            {
                p = starP + 1;
                v = ++starV;
            }
            else
            {
                return false;
            }
        }

        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }

        return p == pattern.Length;
    }
}
