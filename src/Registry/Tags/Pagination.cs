using System.Globalization;
using Berth.Registry.Errors;

namespace Berth.Registry.Tags;

/// <summary>
/// The spec's <c>n</c>/<c>last</c> pagination over a sorted list: entries after <c>last</c> (lexically), at most
/// <c>n</c> of them, and a <c>Link: &lt;...&gt;; rel="next"</c> header when more remain.
/// </summary>
internal static class Pagination
{
    public static List<string> Page(HttpContext context, List<string> sorted, int maxPageSize, string path)
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
        var start = 0;
        if (last.Length > 0)
        {
            var index = sorted.BinarySearch(last, StringComparer.Ordinal);
            start = index >= 0 ? index + 1 : ~index;
        }

        var count = Math.Max(0, Math.Min(limit, sorted.Count - start));
        var page = sorted.GetRange(start, count);
        if (count > 0 && start + count < sorted.Count)
        {
            var next = $"{path}?n={limit}&last={Uri.EscapeDataString(page[^1])}";
            context.Response.Headers.Link = $"<{next}>; rel=\"next\"";
        }

        return page;
    }
}
