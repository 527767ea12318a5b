using System.Collections.Immutable;

namespace Berth.Core.ClusterQuery;

/// <summary>Recursive-descent parser for the grammar in <see cref="ClusterQuery"/>'s remarks.</summary>
internal sealed class ClusterQueryParser
{
    private const string SubjectList =
        "a subject (attribute:<name>, agentConnected, agentVersion, instanceId, ec2InstanceId, registeredAt, runningTasksCount or task:group)";

    private const string OperatorList =
        "an operator (==, !=, >, >=, <, <=, exists, !exists, in, !in, =~, !~ or a word form such as equals, not_in, matches)";

    private static readonly Dictionary<string, QueryOperator> s_wordOperators = new(StringComparer.OrdinalIgnoreCase)
    {
        ["equals"] = QueryOperator.Equal,
        ["not_equals"] = QueryOperator.NotEqual,
        ["greater_than"] = QueryOperator.GreaterThan,
        ["greater_than_equal"] = QueryOperator.GreaterThanOrEqual,
        ["less_than"] = QueryOperator.LessThan,
        ["less_than_equal"] = QueryOperator.LessThanOrEqual,
        ["exists"] = QueryOperator.Exists,
        ["not_exists"] = QueryOperator.NotExists,
        ["in"] = QueryOperator.In,
        ["not_in"] = QueryOperator.NotIn,
        ["matches"] = QueryOperator.Matches,
        ["not_matches"] = QueryOperator.NotMatches,
    };

    private static readonly QueryOperator[] s_identityOperators =
        [QueryOperator.Equal, QueryOperator.NotEqual, QueryOperator.In, QueryOperator.NotIn, QueryOperator.Matches, QueryOperator.NotMatches];

    private static readonly QueryOperator[] s_orderOperators =
    [
        QueryOperator.Equal, QueryOperator.NotEqual, QueryOperator.GreaterThan, QueryOperator.GreaterThanOrEqual,
        QueryOperator.LessThan, QueryOperator.LessThanOrEqual,
    ];

    private static readonly QueryOperator[] s_groupOperators = [.. s_identityOperators, QueryOperator.Exists, QueryOperator.NotExists];

    private readonly ClusterQueryLexer _lexer;
    private readonly string _text;
    private Token _current;
    private bool _dependsOnState;

    private ClusterQueryParser(string text)
    {
        _text = text;
        _lexer = new ClusterQueryLexer(text);
        _current = _lexer.Next();
    }

    public static ClusterQuery Parse(string expression)
    {
        var parser = new ClusterQueryParser(expression);
        if (parser._current.Kind == TokenKind.End)
        {
            throw new ClusterQuerySyntaxException(expression, 0, SubjectList, "an empty expression");
        }

        var (root, predicate) = parser.ParseOr();
        if (parser._current.Kind != TokenKind.End)
        {
            var expected = parser._current.Kind == TokenKind.RightParen ? "end of expression (this ')' closes nothing)" : "'and', 'or', '&&', '||' or end of expression";
            throw parser.Error(expected);
        }

        return new ClusterQuery(expression, root, predicate, parser._dependsOnState);
    }

    private ClusterQuerySyntaxException Error(string expected) => new(_text, _current.Position, expected, _current.Describe());

    private void Advance() => _current = _lexer.Next();

    private bool IsKeyword(string word) =>
        _current.Kind == TokenKind.Word && string.Equals(_current.Text, word, StringComparison.OrdinalIgnoreCase);

    private (QueryNode, Func<IClusterQueryTarget, bool>) ParseOr()
    {
        var (node, predicate) = ParseAnd();
        while (_current.Kind == TokenKind.OrOr || IsKeyword("or"))
        {
            Advance();
            var (right, rightPredicate) = ParseAnd();
            var left = predicate;
            node = new OrNode(node, right);
            predicate = t => left(t) || rightPredicate(t);
        }

        return (node, predicate);
    }

    private (QueryNode, Func<IClusterQueryTarget, bool>) ParseAnd()
    {
        var (node, predicate) = ParseUnary();
        while (_current.Kind == TokenKind.AndAnd || IsKeyword("and"))
        {
            Advance();
            var (right, rightPredicate) = ParseUnary();
            var left = predicate;
            node = new AndNode(node, right);
            predicate = t => left(t) && rightPredicate(t);
        }

        return (node, predicate);
    }

    private (QueryNode, Func<IClusterQueryTarget, bool>) ParseUnary()
    {
        if (_current.Kind == TokenKind.Bang || IsKeyword("not"))
        {
            Advance();
            var (operand, predicate) = ParseUnary();
            return (new NotNode(operand), t => !predicate(t));
        }

        if (_current.Kind == TokenKind.LeftParen)
        {
            Advance();
            var inner = ParseOr();
            if (_current.Kind != TokenKind.RightParen)
            {
                throw Error("')' or 'and', 'or'");
            }

            Advance();
            return inner;
        }

        return ParseComparison();
    }

    private (QueryNode, Func<IClusterQueryTarget, bool>) ParseComparison()
    {
        if (_current.Kind != TokenKind.Word)
        {
            throw Error(SubjectList);
        }

        var subjectToken = _current;
        var subject = ParseSubject(subjectToken);
        Advance();

        var operatorToken = _current;
        QueryOperator op;
        if (_current.Kind == TokenKind.Operator)
        {
            op = _current.Operator;
        }
        else if (_current.Kind == TokenKind.Word && s_wordOperators.TryGetValue(_current.Text, out var wordOp))
        {
            op = wordOp;
        }
        else
        {
            throw Error(OperatorList);
        }

        var allowed = subject.Kind switch
        {
            SubjectKind.AgentConnected or SubjectKind.InstanceId => s_identityOperators,
            SubjectKind.AgentVersion or SubjectKind.RegisteredAt or SubjectKind.RunningTasksCount => s_orderOperators,
            SubjectKind.TaskGroup => s_groupOperators,
            _ => null,
        };
        if (allowed is not null && Array.IndexOf(allowed, op) < 0)
        {
            throw new ClusterQuerySyntaxException(
                _text, operatorToken.Position, $"an operator valid for {subject} ({string.Join(", ", allowed.Select(Symbol))})", operatorToken.Describe());
        }

        Advance();
        var arguments = ImmutableArray<string>.Empty;
        var argumentPositions = new List<int>();
        if (op is QueryOperator.In or QueryOperator.NotIn)
        {
            arguments = ParseList(argumentPositions);
        }
        else if (op is not (QueryOperator.Exists or QueryOperator.NotExists))
        {
            if (_current.Kind == TokenKind.LeftBracket)
            {
                throw Error($"a single value after {Symbol(op)} (a [list] goes with in and !in)");
            }

            argumentPositions.Add(_current.Position);
            arguments = [ParseValue()];
        }

        if (subject.Kind is SubjectKind.TaskGroup or SubjectKind.RunningTasksCount or SubjectKind.AgentConnected)
        {
            _dependsOnState = true;
        }

        var node = new ComparisonNode(subject, op, arguments, subjectToken.Position);
        var predicate = QueryPredicates.Compile(node, argumentPositions, _text);
        return (node, predicate);
    }

    private ImmutableArray<string> ParseList(List<int> positions)
    {
        if (_current.Kind != TokenKind.LeftBracket)
        {
            // ECS writes lists in brackets; a single bare value is accepted as a list of one.
            positions.Add(_current.Position);
            return [ParseValue()];
        }

        Advance();
        var values = ImmutableArray.CreateBuilder<string>();
        while (true)
        {
            positions.Add(_current.Position);
            values.Add(ParseValue());
            if (_current.Kind == TokenKind.Comma)
            {
                Advance();
                continue;
            }

            if (_current.Kind == TokenKind.RightBracket)
            {
                Advance();
                return values.ToImmutable();
            }

            throw Error("',' or ']'");
        }
    }

    private string ParseValue()
    {
        if (_current.Kind is TokenKind.Word or TokenKind.Quoted)
        {
            var text = _current.Text;
            Advance();
            return text;
        }

        throw Error("a value");
    }

    private QuerySubject ParseSubject(Token token)
    {
        var text = token.Text;
        const string AttributePrefix = "attribute:";
        if (text.StartsWith(AttributePrefix, StringComparison.OrdinalIgnoreCase))
        {
            if (text.Length == AttributePrefix.Length)
            {
                throw new ClusterQuerySyntaxException(_text, token.Position + AttributePrefix.Length, "an attribute name after 'attribute:'", "nothing");
            }

            return new QuerySubject(SubjectKind.Attribute, AttributeNames.Normalize(text[AttributePrefix.Length..]));
        }

        SubjectKind? kind = text.ToLowerInvariant() switch
        {
            "agentconnected" => SubjectKind.AgentConnected,
            "agentversion" => SubjectKind.AgentVersion,
            "instanceid" or "ec2instanceid" => SubjectKind.InstanceId,
            "registeredat" => SubjectKind.RegisteredAt,
            "runningtaskscount" => SubjectKind.RunningTasksCount,
            "task:group" => SubjectKind.TaskGroup,
            _ => null,
        };
        return kind is { } k ? new QuerySubject(k, null) : throw new ClusterQuerySyntaxException(_text, token.Position, SubjectList, token.Describe());
    }

    internal static string Symbol(QueryOperator op) => op switch
    {
        QueryOperator.Equal => "==",
        QueryOperator.NotEqual => "!=",
        QueryOperator.GreaterThan => ">",
        QueryOperator.GreaterThanOrEqual => ">=",
        QueryOperator.LessThan => "<",
        QueryOperator.LessThanOrEqual => "<=",
        QueryOperator.Exists => "exists",
        QueryOperator.NotExists => "!exists",
        QueryOperator.In => "in",
        QueryOperator.NotIn => "!in",
        QueryOperator.Matches => "=~",
        QueryOperator.NotMatches => "!~",
        _ => op.ToString(),
    };
}
