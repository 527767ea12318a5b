using System.Text;

namespace Berth.Core.ClusterQuery;

/// <summary>
/// A cluster query expression that cannot be parsed. <see cref="Exception.Message"/> names the position, what was
/// expected and what was found, and shows the expression with a caret under the position.
/// </summary>
public sealed class ClusterQuerySyntaxException : FormatException
{
    /// <summary>Creates the exception.</summary>
    public ClusterQuerySyntaxException(string expression, int position, string expected, string found)
        : base(BuildMessage(expression, position, expected, found))
    {
        Expression = expression;
        Position = position;
        Expected = expected;
        Found = found;
    }

    /// <summary>The expression that failed to parse.</summary>
    public string Expression { get; }

    /// <summary>The zero-based character offset of the error in <see cref="Expression"/>.</summary>
    public int Position { get; }

    /// <summary>What the parser expected at <see cref="Position"/>, for example <c>an operator</c>.</summary>
    public string Expected { get; }

    /// <summary>What it found instead, for example <c>'foo'</c> or <c>end of expression</c>.</summary>
    public string Found { get; }

    private static string BuildMessage(string expression, int position, string expected, string found)
    {
        var text = new StringBuilder();
        text.Append("Cluster query syntax error at position ").Append(position).Append(": expected ").Append(expected)
            .Append(" but found ").Append(found).Append('.').Append('\n');
        text.Append("  ").Append(expression).Append('\n');
        text.Append("  ").Append(' ', Math.Clamp(position, 0, expression.Length)).Append('^');
        return text.ToString();
    }
}
