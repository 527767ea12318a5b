namespace Berth.Scheduler.Kernel;

/// <summary>Pagination by an opaque token: the key of the last item of the previous page.</summary>
internal static class Paging
{
    public static (List<T> Page, string NextToken) Page<T>(IEnumerable<T> ordered, int maxResults, string nextToken, Func<T, string> key)
    {
        if (maxResults is < 0 or > 100)
        {
            throw StateException.Invalid("maxResults must be 1-100.");
        }

        var size = maxResults == 0 ? 100 : maxResults;
        var items = ordered;
        if (!string.IsNullOrEmpty(nextToken))
        {
            var after = Decode(nextToken);
            items = items.SkipWhile(i => key(i) != after).Skip(1);
        }

        var page = items.Take(size + 1).ToList();
        if (page.Count <= size)
        {
            return (page, "");
        }

        page.RemoveAt(size);
        return (page, Encode(key(page[^1])));
    }

    private static string Encode(string key) => Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(key));

    private static string Decode(string token)
    {
        try
        {
            return System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(token));
        }
        catch (FormatException)
        {
            throw StateException.Invalid("nextToken is not a token this API returned.");
        }
    }
}
