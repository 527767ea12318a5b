using Berth.Core.ClusterQuery;
using Query = Berth.Core.ClusterQuery.ClusterQuery;

namespace Berth.Core.Tests.ClusterQuery;

public sealed class ClusterQueryOperatorTests
{
    private static readonly FakeTarget s_m5 = new(("ecs.instance-type", "m5.large"), ("berth.zone", "z1"), ("cores", "16"), ("flag", null))
    {
        InstanceId = "i-abc",
        AgentVersion = "1.14.5",
        RunningTasksCount = 3,
        Groups = ["service:web", "family:db"],
    };

    [Theory]
    [InlineData("attribute:cores == 16", true)]
    [InlineData("attribute:cores equals 16", true)]
    [InlineData("attribute:cores != 16", false)]
    [InlineData("attribute:cores not_equals 16", false)]
    [InlineData("attribute:cores > 8", true)]
    [InlineData("attribute:cores greater_than 8", true)]
    [InlineData("attribute:cores >= 16", true)]
    [InlineData("attribute:cores greater_than_equal 17", false)]
    [InlineData("attribute:cores < 100", true)]
    [InlineData("attribute:cores less_than 100", true)]
    [InlineData("attribute:cores <= 15", false)]
    [InlineData("attribute:cores less_than_equal 16", true)]
    [InlineData("attribute:cores exists", true)]
    [InlineData("attribute:gpus exists", false)]
    [InlineData("attribute:gpus !exists", true)]
    [InlineData("attribute:gpus not_exists", true)]
    [InlineData("attribute:flag exists", true)]
    [InlineData("attribute:flag == x", false)]
    [InlineData("attribute:ecs.instance-type in [m5.large, c5.large]", true)]
    [InlineData("attribute:ecs.instance-type !in [m5.large, c5.large]", false)]
    [InlineData("attribute:ecs.instance-type not_in [c5.large]", true)]
    [InlineData("attribute:ecs.instance-type =~ m5\\..*", true)]
    [InlineData("attribute:ecs.instance-type matches m5", false)]
    [InlineData("attribute:ecs.instance-type !~ c5.*", true)]
    [InlineData("attribute:ecs.instance-type not_matches m.*", false)]
    [InlineData("attribute:ecs.instance-type =~ '(m5|c5)\\.large'", true)]
    public void Operators_SymbolAndWordForms(string expression, bool expected) =>
        Assert.Equal(expected, Query.Parse(expression).Matches(s_m5));

    [Fact]
    public void Matches_APatternThatBacktracksExponentially_AnswersAtOnce()
    {
        // (a+)+b against 40 a's takes a backtracking engine ~2^40 steps; the engine we use is linear in the value.
        var target = new FakeTarget(("x", new string('a', 40) + "!"));
        Assert.False(Query.Parse("attribute:x =~ '(a+)+b'").Matches(target));
        Assert.True(Query.Parse("attribute:x =~ '(a+)+!'").Matches(target));
    }

    [Theory]
    [InlineData("attribute:ecs.instance-type == m5.*", true)]
    [InlineData("attribute:ecs.instance-type == *.large", true)]
    [InlineData("attribute:ecs.instance-type == m*e", true)]
    [InlineData("attribute:ecs.instance-type == c5.*", false)]
    [InlineData("attribute:ecs.instance-type != m5.*", false)]
    [InlineData("attribute:ecs.instance-type in [c5.*, m5.*]", true)]
    [InlineData("instanceId == i-*", true)]
    [InlineData("task:group == service:*", true)]
    [InlineData("task:group == service:api*", false)]
    public void Wildcards_StarMatchesAnyRun(string expression, bool expected) =>
        Assert.Equal(expected, Query.Parse(expression).Matches(s_m5));

    [Theory]
    [InlineData("attribute:berth.zone == z1")]
    [InlineData("attribute:ecs.availability-zone == z1")]
    [InlineData("attribute:berth.instance-type == m5.large")]
    [InlineData("attribute:ecs.instance-type == m5.large")]
    public void EcsNames_AreAliasesOfBerthNames(string expression) =>
        Assert.True(Query.Parse(expression).Matches(s_m5));

    [Fact]
    public void Normalize_MapsEcsBuiltInsAndKeepsCustomNames()
    {
        Assert.Equal("berth.zone", AttributeNames.Normalize("ecs.availability-zone"));
        Assert.Equal("berth.os-type", AttributeNames.Normalize("ecs.os-type"));
        Assert.Equal("berth.cpu-architecture", AttributeNames.Normalize("ecs.cpu-architecture"));
        Assert.Equal("berth.ami-id", AttributeNames.Normalize("ecs.ami-id"));
        Assert.Equal("stack", AttributeNames.Normalize("stack"));
    }

    [Theory]
    [InlineData("attribute:cores == 16 && attribute:berth.zone == z1", true)]
    [InlineData("attribute:cores == 1 || attribute:berth.zone == z1", true)]
    [InlineData("!attribute:cores == 16", false)]
    [InlineData("! (attribute:cores == 16)", false)]
    [InlineData("not attribute:cores == 1", true)]
    [InlineData("attribute:cores == 1 or attribute:cores == 16 and attribute:berth.zone == z2", false)]
    [InlineData("attribute:cores == 16 or attribute:cores == 1 and attribute:berth.zone == z2", true)]
    [InlineData("(attribute:cores == 16 or attribute:cores == 1) and attribute:berth.zone == z2", false)]
    [InlineData("attribute:cores==16&&attribute:berth.zone==z1", true)]
    [InlineData("attribute:cores == 16 AND NOT attribute:gpus exists", true)]
    public void BooleanOperators_AndBindsTighterThanOr(string expression, bool expected) =>
        Assert.Equal(expected, Query.Parse(expression).Matches(s_m5));

    [Fact]
    public void Parse_BuildsTheTreeWithPrecedence()
    {
        var root = Query.Parse("attribute:a == 1 || attribute:b == 2 && !attribute:c exists").Root;
        var or = Assert.IsType<OrNode>(root);
        var left = Assert.IsType<ComparisonNode>(or.Left);
        Assert.Equal(new QuerySubject(SubjectKind.Attribute, "a"), left.Subject);
        Assert.Equal(QueryOperator.Equal, left.Operator);
        Assert.Equal(["1"], left.Arguments.ToArray());
        var and = Assert.IsType<AndNode>(or.Right);
        var not = Assert.IsType<NotNode>(and.Right);
        Assert.Equal(QueryOperator.Exists, Assert.IsType<ComparisonNode>(not.Operand).Operator);
    }

    [Fact]
    public void Parse_ListAndQuotedValues()
    {
        var node = Assert.IsType<ComparisonNode>(Query.Parse("attribute:x in ['a b', \"c,d\", e]").Root);
        Assert.Equal(["a b", "c,d", "e"], node.Arguments.ToArray());
        Assert.True(Query.Parse("attribute:x == 'a b'").Matches(new FakeTarget(("x", "a b"))));
    }

    [Theory]
    [InlineData("agentConnected == true", true, true)]
    [InlineData("agentConnected == true", false, false)]
    [InlineData("agentConnected != true", false, true)]
    [InlineData("agentConnected == FALSE", false, true)]
    [InlineData("agentConnected in [false]", false, true)]
    [InlineData("agentConnected =~ t.*", true, true)]
    public void AgentConnected_ComparesTheConnectionState(string expression, bool connected, bool expected) =>
        Assert.Equal(expected, Query.Parse(expression).Matches(new FakeTarget { AgentConnected = connected }));

    [Theory]
    [InlineData("registeredAt == 2018-06-18", true)]
    [InlineData("registeredAt != 2018-06-18", false)]
    [InlineData("registeredAt == 2018-06-18T22:28:28Z", true)]
    [InlineData("registeredAt == 2018-06-18T22:28:28+00:00", true)]
    [InlineData("registeredAt == 2018-06-18T23:28:28+01:00", true)]
    [InlineData("registeredAt == 2018-06-18T22:28:28", true)]
    [InlineData("registeredAt > 2018-06-18T22:28:27Z", true)]
    [InlineData("registeredAt >= 2018-06-19", false)]
    [InlineData("registeredAt <= 2018-06-18T22:28:28Z", true)]
    public void RegisteredAt_AcceptsTheDocumentedDateFormats(string expression, bool expected) =>
        Assert.Equal(expected, Query.Parse(expression).Matches(new FakeTarget()));

    [Theory]
    [InlineData("task:group in [family:db, service:api]", true)]
    [InlineData("task:group !in [family:db]", false)]
    [InlineData("task:group != service:api", true)]
    [InlineData("task:group =~ family:.*", true)]
    [InlineData("task:group !~ service:.*", false)]
    [InlineData("task:group exists", true)]
    [InlineData("task:group !exists", false)]
    [InlineData("runningTasksCount > 2", true)]
    [InlineData("runningTasksCount <= 2", false)]
    [InlineData("agentVersion >= 1.14.5", true)]
    [InlineData("agentVersion != 1.14.5", false)]
    public void TaskGroupAndCounts_Evaluate(string expression, bool expected) =>
        Assert.Equal(expected, Query.Parse(expression).Matches(s_m5));

    [Theory]
    [InlineData("attribute:x == 1", false)]
    [InlineData("attribute:x == 1 and instanceId == i-1 and registeredAt > 2018-01-01 and agentVersion > 1.0", false)]
    [InlineData("task:group == g", true)]
    [InlineData("attribute:x == 1 or runningTasksCount > 1", true)]
    [InlineData("agentConnected == true", true)]
    public void DependsOnInstanceState_OnlyForStateSubjects(string expression, bool expected) =>
        Assert.Equal(expected, Query.Parse(expression).DependsOnInstanceState);

    [Fact]
    public void Matches_UnknownAgentVersion_MatchesNoComparison()
    {
        var target = new FakeTarget { AgentVersion = null };
        Assert.False(Query.Parse("agentVersion < 9.0").Matches(target));
        Assert.False(Query.Parse("agentVersion >= 0.0").Matches(target));
    }
}
