using System.Collections.Immutable;

namespace Berth.LoadBalancer.Model;

/// <summary>One ELB rule condition, compiled. A rule matches when all its conditions do; a condition when any value does.</summary>
internal abstract class RuleCondition
{
    public abstract bool Matches(HttpRequest request);
}

/// <summary>host-header: the Host header without its port, case-insensitive, with wildcards.</summary>
internal sealed class HostHeaderCondition(ImmutableArray<WildcardPattern> values) : RuleCondition
{
    public ImmutableArray<WildcardPattern> Values { get; } = values;

    public override bool Matches(HttpRequest request)
    {
        // HostString.Host strips the port (and keeps IPv6 brackets), without allocating a new string.
        var host = request.Host.Host.AsSpan();
        foreach (var value in Values)
        {
            if (value.IsMatch(host))
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>path-pattern: the path only (no query), case-sensitive, with wildcards.</summary>
internal sealed class PathPatternCondition(ImmutableArray<WildcardPattern> values) : RuleCondition
{
    public ImmutableArray<WildcardPattern> Values { get; } = values;

    public override bool Matches(HttpRequest request)
    {
        var path = request.Path.HasValue ? request.Path.Value.AsSpan() : "/".AsSpan();
        foreach (var value in Values)
        {
            if (value.IsMatch(path))
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>http-header: any value of the named header matches any pattern, case-insensitive.</summary>
internal sealed class HttpHeaderCondition(string name, ImmutableArray<WildcardPattern> values) : RuleCondition
{
    public string Name { get; } = name;

    public ImmutableArray<WildcardPattern> Values { get; } = values;

    public override bool Matches(HttpRequest request)
    {
        if (!request.Headers.TryGetValue(Name, out var actual))
        {
            return false;
        }

        foreach (var candidate in actual)
        {
            foreach (var value in Values)
            {
                if (value.IsMatch(candidate))
                {
                    return true;
                }
            }
        }

        return false;
    }
}

/// <summary>query-string: some key/value pair of the query matches some pattern pair (an empty key pattern matches any key).</summary>
internal sealed class QueryStringCondition(ImmutableArray<(WildcardPattern? Key, WildcardPattern Value)> values) : RuleCondition
{
    public ImmutableArray<(WildcardPattern? Key, WildcardPattern Value)> Values { get; } = values;

    public override bool Matches(HttpRequest request)
    {
        if (!request.QueryString.HasValue)
        {
            return false;
        }

        foreach (var (key, values) in request.Query)
        {
            foreach (var pair in Values)
            {
                if (pair.Key is not null && !pair.Key.IsMatch(key))
                {
                    continue;
                }

                foreach (var v in values)
                {
                    if (pair.Value.IsMatch(v))
                    {
                        return true;
                    }
                }
            }
        }

        return false;
    }
}

/// <summary>http-request-method: the method is one of the values, case-sensitive as ELB.</summary>
internal sealed class HttpRequestMethodCondition(ImmutableArray<string> values) : RuleCondition
{
    public ImmutableArray<string> Values { get; } = values;

    public override bool Matches(HttpRequest request)
    {
        foreach (var value in Values)
        {
            if (string.Equals(request.Method, value, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }
}
