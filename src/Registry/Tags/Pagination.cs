using System.Globalization;
using Berth.Registry.Errors;

namespace Berth.Registry.Tags;

/// <summary>
/// The spec's <c>n</c>/<c>last</c> pagination: entries after <c>last</c> (lexically), at most <c>n</c> of them, and a
/// <c>Link: &lt;...&gt;; rel="next"</c> header when more remain. The entries come from the metadata store a page at a
/// time (a registry may have millions of tags), asked for one more than the page to know whether more remain.
/// </summary>
internal static class Pagination
{
    /// <summary>The page size and starting point the request asks for.</summary>
    public static (int Limit, string? Last) Parse(HttpContext context, int maxPageSize)
    {
        var query = context.Request.Query;
        var nText = query["n"].ToString();
        var limit = maxPageSize;
        if (nText.Length > 0)
        {
            if (!int.TryParse(nText, NumberStyles.None, CultureInfo.InvariantCulture, out var n))
            {
                throw RegistryException.PaginationInvalid($"n must be a non-negative integer, got '{nText}'");
            }

            limit = Math.Min(n, maxPageSize);
        }

        var last = query["last"].ToString();
        return (limit, last.Length > 0 ? last : null);
    }

    /// <summary>
    /// Trims <paramref name="entries"/> (up to limit + 1 of them, in order) to the page and adds the Link header when
    /// an entry beyond the page exists.
    /// </summary>
    public static List<string> Page(HttpContext context, IReadOnlyList<string> entries, int limit, string path)
    {
        var page = entries.Take(limit).ToList();
        if (page.Count > 0 && entries.Count > limit)
        {
            var next = $"{path}?n={limit}&last={Uri.EscapeDataString(page[^1])}";
            context.Response.Headers.Link = $"<{next}>; rel=\"next\"";
        }

        return page;
    }
}
