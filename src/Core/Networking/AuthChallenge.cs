using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace Berth.Core.Networking;

/// <summary>
/// One challenge of a <c>WWW-Authenticate</c> header (RFC 7235 section 2.1): a scheme and either auth-params
/// (<c>Bearer realm="https://auth/token",service="registry",scope="repository:a/b:pull,push"</c>) or a token68
/// (<c>Negotiate YIIB...==</c>). The registry clients (the CLI, the pull-through cache, replication) read the Bearer
/// challenge's realm, service and scope from it; one parser so that they agree on quoting.
/// </summary>
/// <param name="Scheme">The auth-scheme as sent; compare it case-insensitively (<see cref="IsScheme"/>).</param>
/// <param name="Parameters">The auth-params, names case-insensitive, quoted values unescaped; empty with a token68.</param>
/// <param name="Token68">The token68, when the challenge carries one instead of auth-params.</param>
public sealed record AuthChallenge(string Scheme, IReadOnlyDictionary<string, string> Parameters, string? Token68 = null)
{
    /// <summary>Whether the challenge's scheme is <paramref name="scheme"/> (RFC 7235: schemes are case-insensitive).</summary>
    public bool IsScheme(string scheme) => string.Equals(Scheme, scheme, StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Reads a whole <c>WWW-Authenticate</c> value, which may hold several challenges
    /// (<c>Basic realm="x", Bearer realm="y",service="z"</c>); false when it does not follow RFC 7235's grammar.
    /// </summary>
    public static bool TryParse(string? header, [NotNullWhen(true)] out IReadOnlyList<AuthChallenge>? challenges)
    {
        challenges = null;
        if (header is null)
        {
            return false;
        }

        var list = new List<AuthChallenge>();
        var reader = new Reader(header);
        while (true)
        {
            // #challenge: empty list elements are allowed.
            reader.SkipSpaceAndCommas();
            if (reader.AtEnd)
            {
                break;
            }

            var scheme = reader.Token();
            if (scheme.Length == 0)
            {
                return false;
            }

            var afterScheme = reader.Position;
            reader.SkipSpace();
            if (reader.AtEnd || reader.Peek == ',')
            {
                // A scheme alone is a challenge too (challenge = auth-scheme [ 1*SP ( token68 / #auth-param ) ]).
                list.Add(new AuthChallenge(scheme, s_none));
                continue;
            }

            if (reader.Position == afterScheme)
            {
                // The scheme must be followed by a space before its token68 or params.
                return false;
            }

            if (reader.TryToken68(out var token68))
            {
                list.Add(new AuthChallenge(scheme, s_none, token68));
                continue;
            }

            if (!reader.TryParameters(out var parameters))
            {
                return false;
            }

            list.Add(new AuthChallenge(scheme, parameters));
        }

        if (list.Count == 0)
        {
            return false;
        }

        challenges = list;
        return true;
    }

    /// <summary>
    /// Reads the auth-params of one challenge (what follows the scheme, as <c>AuthenticationHeaderValue.Parameter</c>
    /// holds it); false when it is not a comma-separated list of <c>name=token</c> or <c>name="quoted string"</c>.
    /// </summary>
    public static bool TryParseParameters(string? parameters, [NotNullWhen(true)] out IReadOnlyDictionary<string, string>? values)
    {
        values = null;
        if (parameters is null)
        {
            return false;
        }

        var reader = new Reader(parameters);
        if (!reader.TryParameters(out var parsed) || !reader.AtEnd)
        {
            return false;
        }

        values = parsed;
        return true;
    }

    private static readonly IReadOnlyDictionary<string, string> s_none = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

    private struct Reader(string text)
    {
        private readonly string _text = text;

        public int Position { get; private set; }

        public readonly bool AtEnd => Position >= _text.Length;

        public readonly char Peek => _text[Position];

        public void SkipSpace()
        {
            while (!AtEnd && Peek is ' ' or '\t')
            {
                Position++;
            }
        }

        public void SkipSpaceAndCommas()
        {
            while (!AtEnd && Peek is ' ' or '\t' or ',')
            {
                Position++;
            }
        }

        public string Token()
        {
            var start = Position;
            while (!AtEnd && IsTokenChar(Peek))
            {
                Position++;
            }

            return _text[start..Position];
        }

        /// <summary>
        /// token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=", alone up to the end or the next
        /// challenge's comma; anything else (a <c>name=</c> followed by a value) leaves the position where it was.
        /// </summary>
        public bool TryToken68([NotNullWhen(true)] out string? token68)
        {
            token68 = null;
            var start = Position;
            var end = start;
            while (end < _text.Length && (char.IsAsciiLetterOrDigit(_text[end]) || _text[end] is '-' or '.' or '_' or '~' or '+' or '/'))
            {
                end++;
            }

            if (end == start)
            {
                return false;
            }

            while (end < _text.Length && _text[end] == '=')
            {
                end++;
            }

            var after = end;
            while (after < _text.Length && _text[after] is ' ' or '\t')
            {
                after++;
            }

            if (after < _text.Length && _text[after] != ',')
            {
                return false;
            }

            // "realm=" alone would read as a token68 with padding, which is what RFC 7235's grammar says it is.
            token68 = _text[start..end];
            Position = after;
            return true;
        }

        /// <summary>
        /// [ auth-param *( OWS "," [ OWS auth-param ] ) ], stopping before a token that is not followed by "=" (the
        /// next challenge's scheme) or at the end.
        /// </summary>
        public bool TryParameters([NotNullWhen(true)] out IReadOnlyDictionary<string, string>? parameters)
        {
            parameters = null;
            var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            while (true)
            {
                SkipSpaceAndCommas();
                if (AtEnd)
                {
                    break;
                }

                var nameStart = Position;
                var name = Token();
                if (name.Length == 0)
                {
                    return false;
                }

                SkipSpace();
                if (AtEnd || Peek != '=')
                {
                    if (values.Count == 0)
                    {
                        return false;
                    }

                    // Another challenge begins: leave its scheme for the caller.
                    Position = nameStart;
                    break;
                }

                Position++;
                SkipSpace();
                string value;
                if (!AtEnd && Peek == '"')
                {
                    if (!TryQuotedString(out var quoted))
                    {
                        return false;
                    }

                    value = quoted;
                }
                else
                {
                    value = Token();
                    if (value.Length == 0)
                    {
                        return false;
                    }
                }

                // RFC 7235: each parameter name only once per challenge.
                if (!values.TryAdd(name, value))
                {
                    return false;
                }

                SkipSpace();
                if (!AtEnd && Peek != ',')
                {
                    return false;
                }
            }

            if (values.Count == 0)
            {
                return false;
            }

            parameters = values;
            return true;
        }

        // quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE; quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
        private bool TryQuotedString([NotNullWhen(true)] out string? value)
        {
            value = null;
            var builder = new StringBuilder();
            var i = Position + 1;
            while (i < _text.Length)
            {
                var c = _text[i];
                if (c == '"')
                {
                    Position = i + 1;
                    value = builder.ToString();
                    return true;
                }

                if (c == '\\')
                {
                    if (i + 1 >= _text.Length)
                    {
                        return false;
                    }

                    c = _text[++i];
                }

                if ((c < ' ' && c != '\t') || c == '\x7f')
                {
                    return false;
                }

                builder.Append(c);
                i++;
            }

            return false;
        }

        // tchar: "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
        private static bool IsTokenChar(char c) =>
            char.IsAsciiLetterOrDigit(c) || c is '!' or '#' or '$' or '%' or '&' or '\'' or '*' or '+' or '-' or '.' or '^' or '_' or '`' or '|' or '~';
    }
}
