using Berth.Core.ClusterQuery;
using Query = Berth.Core.ClusterQuery.ClusterQuery;

namespace Berth.Core.Tests.ClusterQuery;

public sealed class ClusterQuerySyntaxTests
{
    [Theory]
    [InlineData("", 0, "a subject")]
    [InlineData("   ", 0, "a subject")]
    [InlineData("attribute:x", 11, "an operator")]
    [InlineData("attribute:x foo bar", 12, "an operator")]
    [InlineData("color == red", 0, "a subject")]
    [InlineData("attribute: == x", 10, "an attribute name")]
    [InlineData("attribute:x ==", 14, "a value")]
    [InlineData("attribute:x == a b", 17, "'and', 'or'")]
    [InlineData("(attribute:x == a", 17, "')'")]
    [InlineData("attribute:x == a)", 16, "end of expression")]
    [InlineData("attribute:x in [a, b", 20, "',' or ']'")]
    [InlineData("attribute:x in [a b]", 18, "',' or ']'")]
    [InlineData("attribute:x == [a]", 15, "a single value")]
    [InlineData("attribute:x == 'open", 20, "a closing '")]
    [InlineData("attribute:x == a and", 20, "a subject")]
    [InlineData("attribute:x == a &&& attribute:y == b", 19, "a subject, operator")]
    [InlineData("registeredAt < yesterday", 15, "a date")]
    [InlineData("registeredAt =~ 2018.*", 13, "an operator valid for registeredAt")]
    [InlineData("agentVersion in [1.0]", 13, "an operator valid for agentVersion")]
    [InlineData("agentVersion < latest", 15, "a version")]
    [InlineData("agentConnected == maybe", 18, "true or false")]
    [InlineData("runningTasksCount > many", 20, "a whole number")]
    [InlineData("instanceId > i-1", 11, "an operator valid for instanceId")]
    [InlineData("attribute:x =~ '(unclosed'", 15, "a valid regular expression")]
    [InlineData("attribute:x =~ '(a)\\1'", 15, "a regular expression without backreferences")]
    [InlineData("attribute:x =~ '(?=a)a'", 15, "a regular expression without backreferences")]
    public void Parse_InvalidExpression_NamesPositionAndExpectation(string expression, int position, string expected)
    {
        var error = Assert.Throws<ClusterQuerySyntaxException>(() => Query.Parse(expression));
        Assert.Equal(position, error.Position);
        Assert.StartsWith(expected, error.Expected, StringComparison.Ordinal);
        Assert.Contains($"position {position}", error.Message, StringComparison.Ordinal);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Message_ShowsTheExpressionWithACaret()
    {
        var error = Assert.Throws<ClusterQuerySyntaxException>(() => Query.Parse("attribute:x foo bar"));
        var lines = error.Message.Split('\n');
        Assert.Equal("  attribute:x foo bar", lines[1]);
        Assert.Equal(new string(' ', 2 + 12) + "^", lines[2]);
        Assert.Contains("found 'foo'", lines[0], StringComparison.Ordinal);
    }

    [Fact]
    public void TryParse_ReportsTheErrorWithoutThrowing()
    {
        Assert.False(Query.TryParse("attribute:x ~~ y", out var query, out var error));
        Assert.Null(query);
        Assert.Equal(12, error!.Position);
        Assert.True(Query.TryParse("attribute:x == y", out query, out error));
        Assert.NotNull(query);
        Assert.Null(error);
    }

    [Fact]
    public void Parse_IsAFormatException() =>
        Assert.IsAssignableFrom<FormatException>(Assert.Throws<ClusterQuerySyntaxException>(() => Query.Parse("x")));
}
