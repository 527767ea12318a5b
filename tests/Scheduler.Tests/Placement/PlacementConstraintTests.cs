using Berth.Core.ClusterQuery;
using Berth.Scheduler.Placement;
using static Berth.Scheduler.Tests.Placement.Cluster;

namespace Berth.Scheduler.Tests.Placement;

public sealed class PlacementConstraintTests
{
    [Fact]
    public void MemberOf_OnlyMatchingInstances()
    {
        var snapshot = Snapshot(Instance("i-1", type: "c5.large", memory: 100_000), Instance("i-2", type: "m5.large"), Instance("i-3", type: "t2.micro"));

        var result = Engine().Place(snapshot, Request(count: 2, constraints: [PlacementConstraint.MemberOf("attribute:ecs.instance-type =~ m5.*")]));

        Assert.Equal(["i-2", "i-2"], Ids(result));
    }

    [Fact]
    public void MemberOf_NoInstanceMatches_FailsWithAttribute()
    {
        var snapshot = Snapshot(Instance("i-1", type: "c5.large"));

        var failure = Assert.Single(Engine().Place(snapshot, Request(constraints: [PlacementConstraint.MemberOf("attribute:ecs.instance-type == g2.2xlarge")])).Failures);

        Assert.Equal(PlacementFailureReasons.Attribute, failure.Reason);
        Assert.Contains("g2.2xlarge", failure.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void MemberOf_MatchingInstanceFull_ReportsItsResourceRatherThanAttribute()
    {
        // The matching instance passes the constraint and fails on memory: it is the closest.
        var snapshot = Snapshot(Instance("i-1", type: "c5.large", memory: 100_000), Instance("i-2", type: "m5.large", memory: 100));

        var failure = Assert.Single(Engine().Place(snapshot, Request(memory: 512, constraints: [PlacementConstraint.MemberOf("attribute:ecs.instance-type =~ m5.*")])).Failures);

        Assert.Equal(PlacementFailureReasons.Memory, failure.Reason);
        Assert.Equal("i-2", failure.InstanceId);
    }

    [Fact]
    public void MemberOf_TaskGroupAffinity_SeesEarlierTasksOfTheRequest()
    {
        var snapshot = Snapshot(Instance("i-1"), Instance("i-2"), Instance("i-3"));
        var withDb = snapshot.WithTaskStarted("i-3", new TaskReservation(1, 1, [], "databases"));

        var result = Engine().Place(withDb, Request(count: 3, group: "cache", constraints: [PlacementConstraint.MemberOf("task:group == databases")]));

        Assert.Equal(["i-3", "i-3", "i-3"], Ids(result));
    }

    [Fact]
    public void MemberOf_TaskGroupAntiAffinity_AvoidsTheGroupIncludingThisRequest()
    {
        var snapshot = Snapshot(Instance("i-1"), Instance("i-2"), Instance("i-3"));
        var withDb = snapshot.WithTaskStarted("i-2", new TaskReservation(1, 1, [], "database"));

        var result = Engine().Place(withDb, Request(count: 3, group: "database", constraints: [PlacementConstraint.MemberOf("not(task:group == database)")]));

        Assert.Equal(["i-1", "i-3"], Ids(result).Order().ToArray());
        Assert.Equal(PlacementFailureReasons.Attribute, Assert.Single(result.Failures).Reason);
    }

    [Fact]
    public void MemberOf_AgentConnectedExpression_IsEvaluatedPerInstanceState()
    {
        var snapshot = Snapshot(Instance("i-1", connected: false), Instance("i-2"));
        var result = Engine().Place(snapshot, Request(constraints: [PlacementConstraint.MemberOf("agentConnected == true")]));
        Assert.Equal(["i-2"], Ids(result));
    }

    [Fact]
    public void MemberOf_StaticResultsAreReusedAcrossSuccessors()
    {
        var snapshot = Snapshot(Instance("i-1", type: "m5.large"), Instance("i-2", type: "c5.large"));
        var query = ClusterQuery.Parse("attribute:ecs.instance-type =~ m5.*");
        var successor = snapshot.WithTaskStarted("i-2", new TaskReservation(1, 1, [], null));

        Assert.Same(snapshot.GetStaticFilter([query])!.Matches, successor.GetStaticFilter([query])!.Matches);
        Assert.Equal([true, false], successor.GetStaticFilter([query])!.Matches);
    }

    [Fact]
    public void DistinctInstance_EachTaskOnItsOwnInstance()
    {
        var snapshot = Snapshot(Instance("i-1", memory: 100_000), Instance("i-2"), Instance("i-3"));

        var result = Engine().Place(snapshot, Request(count: 4, constraints: [PlacementConstraint.DistinctInstance()]));

        Assert.Equal(["i-1", "i-2", "i-3"], Ids(result).Order().ToArray());
        Assert.Equal(PlacementFailureReasons.Attribute, Assert.Single(result.Failures).Reason);
    }

    [Fact]
    public void DistinctInstance_AvoidsInstancesAlreadyHostingTheGroup()
    {
        var snapshot = Snapshot(Instance("i-1", memory: 100_000), Instance("i-2"))
            .WithTaskStarted("i-1", new TaskReservation(1, 1, [], "service:web"));

        Assert.Equal(["i-2"], Ids(Engine().Place(snapshot, Request(group: "service:web", constraints: [PlacementConstraint.DistinctInstance()]))));
    }

    [Fact]
    public void DistinctInstance_WithoutGroup_StillDistinctWithinTheRequest()
    {
        var snapshot = Snapshot(Instance("i-1", memory: 100_000), Instance("i-2"));

        var result = Engine().Place(snapshot, Request(count: 2, group: null, constraints: [PlacementConstraint.DistinctInstance()]));

        Assert.Equal(["i-1", "i-2"], Ids(result).Order().ToArray());
    }

    [Fact]
    public void Constraints_AllMustHold()
    {
        var snapshot = Snapshot(Instance("i-1", zone: "z1", type: "m5.large"), Instance("i-2", zone: "z2", type: "m5.large"), Instance("i-3", zone: "z2", type: "c5.large"));

        var result = Engine().Place(snapshot, Request(constraints:
        [
            PlacementConstraint.MemberOf("attribute:ecs.instance-type =~ m5.*"),
            PlacementConstraint.MemberOf("attribute:berth.zone == z2"),
        ]));

        Assert.Equal(["i-2"], Ids(result));
    }

    [Fact]
    public void Create_FromEcsJsonShape()
    {
        Assert.Equal(PlacementConstraintType.DistinctInstance, PlacementConstraint.Create("distinctInstance", null).Type);
        Assert.Equal("task:group == databases", PlacementConstraint.Create("memberOf", "task:group == databases").Expression!.Expression);
        Assert.Throws<ArgumentException>(() => PlacementConstraint.Create("memberOf", ""));
        Assert.Throws<ArgumentException>(() => PlacementConstraint.Create("sameZone", null));
        Assert.Throws<ClusterQuerySyntaxException>(() => PlacementConstraint.Create("memberOf", "attribute:x"));
    }
}
