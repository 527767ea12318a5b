namespace Berth.LoadBalancer.Model;

/// <summary>What rule conditions read of a request, whichever path serves it.</summary>
internal interface IRuleRequest
{
    /// <summary>The method, as sent.</summary>
    ReadOnlySpan<char> Method { get; }

    /// <summary>The Host header without its port (IPv6 brackets kept), as Kestrel's <c>HostString.Host</c>.</summary>
    ReadOnlySpan<char> Host { get; }

    /// <summary>The path (decoded, as Kestrel routes it), "/" when empty.</summary>
    ReadOnlySpan<char> Path { get; }

    /// <summary>The raw query, without its '?'; empty when there is none.</summary>
    ReadOnlySpan<char> Query { get; }

    /// <summary>
    /// The values of a header, one per field line as Kestrel keeps them: the next one after <paramref name="cursor"/>
    /// (0 to start), false when there is none.
    /// </summary>
    bool NextHeaderValue(string name, ref int cursor, out ReadOnlySpan<char> value);
}

/// <summary>Kestrel's request, for rules evaluated on YARP's path.</summary>
internal readonly struct HttpRequestView(HttpRequest request) : IRuleRequest
{
    public ReadOnlySpan<char> Method => request.Method;

    public ReadOnlySpan<char> Host => request.Host.Host;

    public ReadOnlySpan<char> Path => request.Path.HasValue ? request.Path.Value : "/";

    public ReadOnlySpan<char> Query => request.QueryString.HasValue ? request.QueryString.Value.AsSpan(1) : [];

    public bool NextHeaderValue(string name, ref int cursor, out ReadOnlySpan<char> value)
    {
        if (request.Headers.TryGetValue(name, out var values) && cursor < values.Count)
        {
            value = values[cursor++];
            return true;
        }

        value = default;
        return false;
    }
}
