namespace Berth.Registry.Repositories;

/// <summary>
/// ECR's tag wildcard filters: 1-128 characters of <c>[0-9a-zA-Z._*-]</c>, where <c>*</c> matches any run of
/// characters (none included) and everything else matches itself. A filter matches the whole tag.
/// </summary>
internal static class WildcardFilter
{
    public const int MaxLength = 128;

    public static bool IsValid(string? filter) =>
        filter is { Length: > 0 and <= MaxLength } && filter.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '*' or '-');

    public static bool Matches(string filter, string tag) => Matches(filter.AsSpan(), tag.AsSpan());

    // Greedy matching with one backtrack point (the last '*'), linear in practice for these short strings.
    private static bool Matches(ReadOnlySpan<char> filter, ReadOnlySpan<char> tag)
    {
        int f = 0, t = 0, star = -1, resume = 0;
        while (t < tag.Length)
        {
            if (f < filter.Length && filter[f] == '*')
            {
                star = f++;
                resume = t;
            }
            else if (f < filter.Length && filter[f] == tag[t])
            {
                f++;
                t++;
            }
            else if (star >= 0)
            {
                f = star + 1;
                t = ++resume;
            }
            else
            {
                return false;
            }
        }

        while (f < filter.Length && filter[f] == '*')
        {
            f++;
        }

        return f == filter.Length;
    }
}
