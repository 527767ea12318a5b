using Berth.Core.ClusterQuery;
using Query = Berth.Core.ClusterQuery.ClusterQuery;

namespace Berth.Core.Tests.ClusterQuery;

/// <summary>Every example expression of the ECS cluster query language and task placement constraint documentation.</summary>
public sealed class ClusterQueryExamplesTests
{
    private static bool Eval(string expression, IClusterQueryTarget target) => Query.Parse(expression).Matches(target);

    [Fact]
    public void StringEquality_SelectsTheInstanceType()
    {
        const string Expression = "attribute:ecs.instance-type == t2.small";
        Assert.True(Eval(Expression, new FakeTarget(("ecs.instance-type", "t2.small"))));
        Assert.False(Eval(Expression, new FakeTarget(("ecs.instance-type", "t2.medium"))));
        Assert.False(Eval(Expression, new FakeTarget()));
    }

    [Fact]
    public void ArgumentList_SelectsEitherZone()
    {
        const string Expression = "attribute:ecs.availability-zone in [us-east-1a, us-east-1b]";
        Assert.True(Eval(Expression, new FakeTarget(("ecs.availability-zone", "us-east-1a"))));
        Assert.True(Eval(Expression, new FakeTarget(("berth.zone", "us-east-1b"))));
        Assert.False(Eval(Expression, new FakeTarget(("berth.zone", "us-east-1c"))));
    }

    [Fact]
    public void CompoundExpression_SelectsG2OutsideZoneD()
    {
        const string Expression = "attribute:ecs.instance-type =~ g2.* and attribute:ecs.availability-zone != us-east-1d";
        Assert.True(Eval(Expression, new FakeTarget(("ecs.instance-type", "g2.2xlarge"), ("ecs.availability-zone", "us-east-1a"))));
        Assert.False(Eval(Expression, new FakeTarget(("ecs.instance-type", "g2.2xlarge"), ("ecs.availability-zone", "us-east-1d"))));
        Assert.False(Eval(Expression, new FakeTarget(("ecs.instance-type", "t2.small"), ("ecs.availability-zone", "us-east-1a"))));
    }

    [Fact]
    public void TaskAffinity_SelectsInstancesHostingTheGroup()
    {
        const string Expression = "task:group == service:production";
        Assert.True(Eval(Expression, new FakeTarget { Groups = ["service:production", "family:web"] }));
        Assert.False(Eval(Expression, new FakeTarget { Groups = ["service:staging"] }));
        Assert.False(Eval(Expression, new FakeTarget()));
    }

    [Fact]
    public void TaskAntiAffinity_SelectsInstancesNotHostingTheGroup()
    {
        const string Expression = "not(task:group == database)";
        Assert.False(Eval(Expression, new FakeTarget { Groups = ["database"] }));
        Assert.True(Eval(Expression, new FakeTarget { Groups = ["web"] }));
        Assert.True(Eval(Expression, new FakeTarget()));
    }

    [Fact]
    public void RunningTaskCount_SelectsInstancesWithOneTask()
    {
        Assert.True(Eval("runningTasksCount == 1", new FakeTarget { RunningTasksCount = 1 }));
        Assert.False(Eval("runningTasksCount == 1", new FakeTarget { RunningTasksCount = 2 }));
    }

    [Fact]
    public void AgentVersion_SelectsOlderAgents()
    {
        Assert.True(Eval("agentVersion < 1.14.5", new FakeTarget { AgentVersion = "1.14.4" }));
        Assert.True(Eval("agentVersion < 1.14.5", new FakeTarget { AgentVersion = "1.9.0" }));
        Assert.False(Eval("agentVersion < 1.14.5", new FakeTarget { AgentVersion = "1.14.10" }));
        Assert.False(Eval("agentVersion < 1.14.5", new FakeTarget { AgentVersion = "1.14.5" }));
    }

    [Fact]
    public void RegistrationTime_SelectsInstancesRegisteredBefore()
    {
        Assert.True(Eval("registeredAt < 2018-02-13", new FakeTarget { RegisteredAt = new(2018, 2, 12, 23, 59, 59, TimeSpan.Zero) }));
        Assert.False(Eval("registeredAt < 2018-02-13", new FakeTarget { RegisteredAt = new(2018, 2, 13, 0, 0, 1, TimeSpan.Zero) }));
    }

    [Fact]
    public void InstanceId_SelectsListedIds()
    {
        const string Expression = "ec2InstanceId in ['i-abcd1234', 'i-wxyx7890']";
        Assert.True(Eval(Expression, new FakeTarget { InstanceId = "i-wxyx7890" }));
        Assert.False(Eval(Expression, new FakeTarget { InstanceId = "i-00000000" }));
        Assert.True(Eval("instanceId == i-abcd1234", new FakeTarget { InstanceId = "i-abcd1234" }));
    }

    [Fact]
    public void FilterExamples_BuiltInAndCustomAttributes()
    {
        var g2 = new FakeTarget(("ecs.instance-type", "g2.2xlarge"), ("stack", "prod"));
        var t2 = new FakeTarget(("ecs.instance-type", "t2.medium"), ("ecs.availability-zone", "us-east-1a"), ("stack", "dev"));
        var bare = new FakeTarget(("ecs.instance-type", "t2.small"));
        Assert.True(Eval("attribute:ecs.instance-type == g2.2xlarge", g2));
        Assert.True(Eval("attribute:stack == prod", g2));
        Assert.False(Eval("attribute:stack == prod", t2));
        // "lists the instances with the custom attribute stack unless the value is prod": no attribute, no match.
        Assert.True(Eval("attribute:stack != prod", t2));
        Assert.False(Eval("attribute:stack != prod", g2));
        Assert.False(Eval("attribute:stack != prod", bare));
        Assert.True(Eval("attribute:ecs.instance-type in [t2.small, t2.medium]", t2));
        Assert.True(Eval("attribute:ecs.instance-type in [t2.small, t2.medium]", bare));
        Assert.False(Eval("attribute:ecs.instance-type in [t2.small, t2.medium]", g2));
        Assert.True(Eval("attribute:ecs.instance-type =~ t2.* and attribute:ecs.availability-zone == us-east-1a", t2));
        Assert.False(Eval("attribute:ecs.instance-type =~ t2.* and attribute:ecs.availability-zone == us-east-1a", bare));
    }

    [Fact]
    public void ConstraintExamples_MemberOfT2AndTaskGroup()
    {
        Assert.True(Eval("attribute:ecs.instance-type =~ t2.*", new FakeTarget(("ecs.instance-type", "t2.micro"))));
        Assert.False(Eval("attribute:ecs.instance-type =~ t2.*", new FakeTarget(("ecs.instance-type", "m5.large"))));
        Assert.True(Eval("task:group == databases", new FakeTarget { Groups = ["databases"] }));
    }

    [Fact]
    public void Precedence_ParenthesesAsDocumented()
    {
        // (expression1 or expression2) and expression3
        const string Expression = "(attribute:a == 1 or attribute:b == 1) and attribute:c == 1";
        Assert.True(Eval(Expression, new FakeTarget(("a", "1"), ("c", "1"))));
        Assert.False(Eval(Expression, new FakeTarget(("a", "1"))));
        Assert.True(Eval(Expression, new FakeTarget(("b", "1"), ("c", "1"))));
    }
}
