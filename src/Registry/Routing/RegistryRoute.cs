namespace Berth.Registry.Routing;

internal enum RouteKind
{
    NotFound,
    Base,
    Catalog,
    Blob,
    Upload,
    Manifest,
    TagsList,
    Referrers,
}

/// <summary>
/// A parsed registry path. Repository names contain slashes, so the path is read from its end:
/// <c>/v2/&lt;name&gt;/(blobs/uploads/[id]|blobs/&lt;digest&gt;|manifests/&lt;ref&gt;|tags/list|referrers/&lt;digest&gt;)</c>.
/// Slices of the request path, no allocation.
/// </summary>
internal readonly record struct RegistryRoute(RouteKind Kind, ReadOnlyMemory<char> Name, ReadOnlyMemory<char> Argument)
{
    private const string Prefix = "/v2/";

    public static RegistryRoute Parse(string path)
    {
        if (path is "/v2" or Prefix)
        {
            return new(RouteKind.Base, default, default);
        }

        if (!path.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return default;
        }

        var rest = path.AsMemory(Prefix.Length);
        var span = rest.Span;
        if (span is "_catalog")
        {
            return new(RouteKind.Catalog, default, default);
        }

        if (span.EndsWith("/tags/list"))
        {
            return new(RouteKind.TagsList, rest[..^"/tags/list".Length], default);
        }

        if (span.EndsWith("/blobs/uploads"))
        {
            return new(RouteKind.Upload, rest[..^"/blobs/uploads".Length], default);
        }

        var slash = span.LastIndexOf('/');
        if (slash <= 0)
        {
            return default;
        }

        var head = rest[..slash];
        var last = rest[(slash + 1)..];
        var headSpan = head.Span;
        if (headSpan.EndsWith("/blobs/uploads"))
        {
            return new(RouteKind.Upload, head[..^"/blobs/uploads".Length], last);
        }

        if (headSpan.EndsWith("/blobs"))
        {
            return new(RouteKind.Blob, head[..^"/blobs".Length], last);
        }

        if (headSpan.EndsWith("/manifests"))
        {
            return new(RouteKind.Manifest, head[..^"/manifests".Length], last);
        }

        if (headSpan.EndsWith("/referrers"))
        {
            return new(RouteKind.Referrers, head[..^"/referrers".Length], last);
        }

        return default;
    }
}
