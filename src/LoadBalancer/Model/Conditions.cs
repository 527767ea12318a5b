using System.Buffers;
using System.Collections.Immutable;

namespace Berth.LoadBalancer.Model;

/// <summary>
/// One ELB rule condition, compiled. A rule matches when all its conditions do; a condition when any value does. Both
/// request paths evaluate the same conditions: YARP's over Kestrel's <see cref="HttpRequest"/>
/// (<see cref="HttpRequestView"/>), the HTTP/1.1 relay over the bytes of a request head (<c>Relay/RequestHeadView</c>).
/// </summary>
internal abstract class RuleCondition
{
    public abstract bool Matches<TRequest>(ref TRequest request)
        where TRequest : struct, IRuleRequest;
}

/// <summary>host-header: the Host header without its port, case-insensitive, with wildcards.</summary>
internal sealed class HostHeaderCondition(ImmutableArray<WildcardPattern> values) : RuleCondition
{
    public ImmutableArray<WildcardPattern> Values { get; } = values;

    public override bool Matches<TRequest>(ref TRequest request)
    {
        var host = request.Host;
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

    public override bool Matches<TRequest>(ref TRequest request)
    {
        var path = request.Path;
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

    public override bool Matches<TRequest>(ref TRequest request)
    {
        var cursor = 0;
        while (request.NextHeaderValue(Name, ref cursor, out var candidate))
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

    /// <remarks>
    /// Reads the raw query as ASP.NET Core's <c>HttpRequest.Query</c> does (<c>QueryStringEnumerable</c>): pairs split on
    /// '&amp;' (empty ones skipped), name and value on the first '=', each decoded ('+' is a space, then %XX). Matching
    /// is over pairs, so grouping the values by name (as <c>Query</c> does, names case-insensitively) changes nothing
    /// for patterns that compare case-insensitively.
    /// </remarks>
    public override bool Matches<TRequest>(ref TRequest request)
    {
        var query = request.Query;
        if (query.IsEmpty)
        {
            return false;
        }

        // Room to decode into: the first half takes a name or value with '+' made spaces, the second what it decodes to.
        char[]? rented = null;
        var scratch = query.Length <= 128 ? stackalloc char[query.Length * 2] : (rented = ArrayPool<char>.Shared.Rent(query.Length * 2));
        try
        {
            foreach (var range in query.Split('&'))
            {
                var pair = query[range];
                if (pair.IsEmpty)
                {
                    continue;
                }

                var equals = pair.IndexOf('=');
                var key = Decode(equals < 0 ? pair : pair[..equals], scratch[..query.Length], scratch[query.Length..]);
                var valueScratch = scratch[(query.Length + key.Length)..];
                var value = Decode(equals < 0 ? [] : pair[(equals + 1)..], scratch[..query.Length], valueScratch);
                foreach (var (keyPattern, valuePattern) in Values)
                {
                    if ((keyPattern is null || keyPattern.IsMatch(key)) && valuePattern.IsMatch(value))
                    {
                        return true;
                    }
                }
            }

            return false;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<char>.Shared.Return(rented);
            }
        }
    }

    // '+' as a space, then percent-decoding (an invalid escape stays as it is), as QueryStringEnumerable's Decode*.
    private static ReadOnlySpan<char> Decode(ReadOnlySpan<char> encoded, Span<char> spaced, Span<char> destination)
    {
        if (encoded.IndexOfAny('+', '%') < 0)
        {
            return encoded;
        }

        encoded.Replace(spaced, '+', ' ');
        return Uri.TryUnescapeDataString(spaced[..encoded.Length], destination, out var written) ? destination[..written] : encoded;
    }
}

/// <summary>http-request-method: the method is one of the values, case-sensitive as ELB.</summary>
internal sealed class HttpRequestMethodCondition(ImmutableArray<string> values) : RuleCondition
{
    public ImmutableArray<string> Values { get; } = values;

    public override bool Matches<TRequest>(ref TRequest request)
    {
        var method = request.Method;
        foreach (var value in Values)
        {
            if (method.SequenceEqual(value))
            {
                return true;
            }
        }

        return false;
    }
}
