namespace Berth.LoadBalancer.Model;

/// <summary>
/// An ELB condition value: <c>*</c> matches zero or more characters, <c>?</c> exactly one, everything else itself.
/// Host, header and query values compare case-insensitively, paths case-sensitively (ELB's rules).
/// </summary>
internal sealed class WildcardPattern
{
    private readonly string _pattern;
    private readonly bool _ignoreCase;
    private readonly bool _literal;

    public WildcardPattern(string pattern, bool ignoreCase)
    {
        _pattern = pattern;
        _ignoreCase = ignoreCase;
        _literal = pattern.AsSpan().IndexOfAny('*', '?') < 0;
    }

    public string Pattern => _pattern;

    /// <summary>Matches without allocating: the classic greedy glob with one backtrack point per <c>*</c>.</summary>
    public bool IsMatch(ReadOnlySpan<char> text)
    {
        if (_literal)
        {
            return _ignoreCase ? text.Equals(_pattern, StringComparison.OrdinalIgnoreCase) : text.SequenceEqual(_pattern);
        }

        var p = _pattern.AsSpan();
        int ti = 0, pi = 0, star = -1, mark = 0;
        while (ti < text.Length)
        {
            if (pi < p.Length && (p[pi] == '?' || Same(p[pi], text[ti])))
            {
                ti++;
                pi++;
            }
            else if (pi < p.Length && p[pi] == '*')
            {
                star = pi++;
                mark = ti;
            }
            else if (star >= 0)
            {
                pi = star + 1;
                ti = ++mark;
            }
            else
            {
                return false;
            }
        }

        while (pi < p.Length && p[pi] == '*')
        {
            pi++;
        }

        return pi == p.Length;
    }

    private bool Same(char a, char b) => a == b || (_ignoreCase && char.ToUpperInvariant(a) == char.ToUpperInvariant(b));

    public override string ToString() => _pattern;
}
