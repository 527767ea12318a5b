using System.Diagnostics.CodeAnalysis;

namespace Berth.Core.ClusterQuery;

/// <summary>
/// A parsed and compiled expression of ECS's cluster query language, for example
/// <c>attribute:ecs.instance-type =~ t2.* and attribute:ecs.availability-zone != us-east-1d</c>.
/// Immutable and safe to share between threads; <see cref="Matches"/> allocates nothing for most expressions.
/// </summary>
/// <remarks>
/// Grammar (keywords and word operators are case-insensitive; subjects are case-sensitive as in ECS):
/// <code>
/// expression := or
/// or         := and (("||" | "or") and)*
/// and        := unary (("&amp;&amp;" | "and") unary)*
/// unary      := ("!" | "not") unary | "(" expression ")" | comparison
/// comparison := subject operator [argument]
/// argument   := value | "[" value ("," value)* "]"
/// value      := bare word | 'single quoted' | "double quoted"
/// </code>
/// A bare value ends at white space or one of <c>( ) [ ] , = ! &lt; &gt; &amp; |</c>; quote a value (or a regular
/// expression) that contains them. In <c>==</c>, <c>!=</c>, <c>in</c> and <c>!in</c> a <c>*</c> in a value matches any
/// run of characters. <c>=~</c>/<c>!~</c> take a regular expression that must match the whole value (Java's
/// <c>Pattern.matches</c>, which ECS uses).
/// </remarks>
#pragma warning disable CA1724 // The feature folder is named after its main type (namespace = folder, STYLE.md); renaming either would only move the clash.
public sealed class ClusterQuery
#pragma warning restore CA1724
{
    private readonly Func<IClusterQueryTarget, bool> _predicate;

    internal ClusterQuery(string expression, QueryNode root, Func<IClusterQueryTarget, bool> predicate, bool dependsOnInstanceState)
    {
        Expression = expression;
        Root = root;
        _predicate = predicate;
        DependsOnInstanceState = dependsOnInstanceState;
    }

    /// <summary>The expression as written.</summary>
    public string Expression { get; }

    /// <summary>The syntax tree.</summary>
    public QueryNode Root { get; }

    /// <summary>
    /// True when the result can change while the instance stays registered with the same attributes: the expression
    /// uses <c>task:group</c>, <c>runningTasksCount</c> or <c>agentConnected</c>. False means the result depends only on
    /// the instance id, attributes, agent version and registration time, so a caller may cache it per instance.
    /// </summary>
    public bool DependsOnInstanceState { get; }

    /// <summary>Parses an expression, throwing <see cref="ClusterQuerySyntaxException"/> with the position of the error.</summary>
    public static ClusterQuery Parse(string expression)
    {
        ArgumentNullException.ThrowIfNull(expression);
        return ClusterQueryParser.Parse(expression);
    }

    /// <summary>Parses an expression without throwing.</summary>
    public static bool TryParse(
        string expression,
        [NotNullWhen(true)] out ClusterQuery? query,
        [NotNullWhen(false)] out ClusterQuerySyntaxException? error)
    {
        try
        {
            query = Parse(expression);
            error = null;
            return true;
        }
        catch (ClusterQuerySyntaxException e)
        {
            query = null;
            error = e;
            return false;
        }
    }

    /// <summary>Whether <paramref name="target"/> satisfies the expression.</summary>
    public bool Matches(IClusterQueryTarget target)
    {
        ArgumentNullException.ThrowIfNull(target);
        return _predicate(target);
    }

    /// <inheritdoc/>
    public override string ToString() => Expression;
}
