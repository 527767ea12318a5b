namespace Berth.Core.ClusterQuery;

internal enum TokenKind
{
    End,
    LeftParen,
    RightParen,
    LeftBracket,
    RightBracket,
    Comma,
    AndAnd,
    OrOr,
    Bang,
    Operator,
    Word,
    Quoted,
}

internal readonly record struct Token(TokenKind Kind, string Text, int Position, QueryOperator Operator = default)
{
    public string Describe() => Kind switch
    {
        TokenKind.End => "end of expression",
        TokenKind.Quoted => $"quoted value '{Text}'",
        _ => $"'{Text}'",
    };
}

/// <summary>
/// Splits an expression into tokens. Symbolic operators are recognised anywhere; a bare word runs until white space or a
/// character that starts punctuation or an operator, so <c>attribute:x==y</c> lexes as three tokens.
/// </summary>
internal sealed class ClusterQueryLexer(string text)
{
    private int _position;

    public string Text { get; } = text;

    public static bool IsWordChar(char c) =>
        !char.IsWhiteSpace(c) && c is not ('(' or ')' or '[' or ']' or ',' or '=' or '!' or '<' or '>' or '&' or '|' or '\'' or '"');

    public Token Next()
    {
        while (_position < Text.Length && char.IsWhiteSpace(Text[_position]))
        {
            _position++;
        }

        var start = _position;
        if (_position >= Text.Length)
        {
            return new Token(TokenKind.End, "", start);
        }

        var c = Text[_position];
        var next = _position + 1 < Text.Length ? Text[_position + 1] : '\0';
        switch (c)
        {
            case '(':
                _position++;
                return new Token(TokenKind.LeftParen, "(", start);
            case ')':
                _position++;
                return new Token(TokenKind.RightParen, ")", start);
            case '[':
                _position++;
                return new Token(TokenKind.LeftBracket, "[", start);
            case ']':
                _position++;
                return new Token(TokenKind.RightBracket, "]", start);
            case ',':
                _position++;
                return new Token(TokenKind.Comma, ",", start);
            case '&' when next == '&':
                _position += 2;
                return new Token(TokenKind.AndAnd, "&&", start);
            case '|' when next == '|':
                _position += 2;
                return new Token(TokenKind.OrOr, "||", start);
            case '=' when next == '=':
                return Operator(start, 2, QueryOperator.Equal);
            case '=' when next == '~':
                return Operator(start, 2, QueryOperator.Matches);
            case '!' when next == '=':
                return Operator(start, 2, QueryOperator.NotEqual);
            case '!' when next == '~':
                return Operator(start, 2, QueryOperator.NotMatches);
            case '!' when IsWordAt(_position + 1, "in"):
                return Operator(start, 3, QueryOperator.NotIn);
            case '!' when IsWordAt(_position + 1, "exists"):
                return Operator(start, 7, QueryOperator.NotExists);
            case '!':
                _position++;
                return new Token(TokenKind.Bang, "!", start);
            case '>' when next == '=':
                return Operator(start, 2, QueryOperator.GreaterThanOrEqual);
            case '>':
                return Operator(start, 1, QueryOperator.GreaterThan);
            case '<' when next == '=':
                return Operator(start, 2, QueryOperator.LessThanOrEqual);
            case '<':
                return Operator(start, 1, QueryOperator.LessThan);
            case '\'' or '"':
                return QuotedString(start, c);
        }

        if (!IsWordChar(c))
        {
            throw new ClusterQuerySyntaxException(Text, start, "a subject, operator, value or parenthesis", $"'{c}'");
        }

        while (_position < Text.Length && IsWordChar(Text[_position]))
        {
            _position++;
        }

        return new Token(TokenKind.Word, Text[start.._position], start);
    }

    private Token Operator(int start, int length, QueryOperator op)
    {
        _position += length;
        return new Token(TokenKind.Operator, Text.Substring(start, length), start, op);
    }

    private bool IsWordAt(int position, string word) =>
        string.CompareOrdinal(Text, position, word, 0, word.Length) == 0
        && (position + word.Length >= Text.Length || !IsWordChar(Text[position + word.Length]));

    private Token QuotedString(int start, char quote)
    {
        var end = Text.IndexOf(quote, start + 1);
        if (end < 0)
        {
            throw new ClusterQuerySyntaxException(Text, Text.Length, $"a closing {quote} for the value that starts at position {start}", "end of expression");
        }

        _position = end + 1;
        return new Token(TokenKind.Quoted, Text[(start + 1)..end], start);
    }
}
