using Berth.LoadBalancer.Model;
using Berth.Scheduler.V1;
using static Berth.LoadBalancer.Tests.Infrastructure.Configs;
using HealthCheckProtocol = Berth.LoadBalancer.Model.HealthCheckProtocol;
using LoadBalancingAlgorithm = Berth.LoadBalancer.Model.LoadBalancingAlgorithm;

namespace Berth.LoadBalancer.Tests.Model;

public sealed class ModelBuilderTests
{
    [Fact]
    public void TargetGroup_TakesElbDefaults()
    {
        var snapshot = Snapshot(1, [Http(80, Forward("web"))], [Group("web", [8080], new HealthCheck())]);

        var group = ModelBuilder.Build("e", 1, snapshot.Config).TargetGroups[GroupArn("web")];

        var check = group.HealthCheck;
        Assert.True(check.Enabled);
        Assert.Equal(HealthCheckProtocol.Http, check.Protocol);
        Assert.Null(check.Port);
        Assert.Equal("/", check.Path);
        Assert.Equal(TimeSpan.FromSeconds(30), check.Interval);
        Assert.Equal(TimeSpan.FromSeconds(5), check.Timeout);
        Assert.Equal(5, check.HealthyThreshold);
        Assert.Equal(2, check.UnhealthyThreshold);
        Assert.True(check.Matcher.Matches(200));
        Assert.False(check.Matcher.Matches(204));
        Assert.Equal(TimeSpan.FromSeconds(300), group.DeregistrationDelay);
        Assert.Null(group.Stickiness);
        Assert.Equal(TimeSpan.Zero, group.SlowStart);
        Assert.Equal(LoadBalancingAlgorithm.RoundRobin, group.Algorithm);
    }

    [Fact]
    public void Rules_AreOrderedByPriority_WithTheDefaultRuleLast()
    {
        var snapshot = Snapshot(1, [Http(80, Forward("web"))], [Group("web", [8080])],
            [Rule(80, 30, Forward("web"), Path("/c")), Rule(80, 1, Forward("web"), Path("/a")), Rule(80, 7, Forward("web"), Path("/b"))]);

        var rules = ModelBuilder.Build("e", 1, snapshot.Config).Listeners.Single().Rules;

        Assert.Equal([1, 7, 30, RuleModel.DefaultPriority], rules.Select(r => r.Priority));
        Assert.True(rules[^1].IsDefault);
    }

    [Fact]
    public void RuleFingerprint_ChangesExactlyWhenTheRuleDoes()
    {
        Listener[] listeners = [Http(80, Forward("web"))];
        TargetGroupState[] groups = [Group("web", [8080]), Group("api", [8081])];
        string[] Fingerprints(params Scheduler.V1.Rule[] rules) =>
            [.. ModelBuilder.Build("e", 1, Snapshot(1, listeners, groups, rules).Config).Listeners.Single().Rules.Select(r => r.Fingerprint)];

        var same = Fingerprints(Rule(80, 1, Forward("web"), Path("/a")), Rule(80, 2, Forward("api"), Path("/b")));
        var again = Fingerprints(Rule(80, 1, Forward("web"), Path("/a")), Rule(80, 2, Forward("api"), Path("/b")));
        var otherPath = Fingerprints(Rule(80, 1, Forward("web"), Path("/a")), Rule(80, 2, Forward("api"), Path("/c")));
        var otherGroup = Fingerprints(Rule(80, 1, Forward("web"), Path("/a")), Rule(80, 2, Forward("web"), Path("/b")));

        Assert.Equal(same, again);
        Assert.Equal(same[0], otherPath[0]);
        Assert.NotEqual(same[1], otherPath[1]);
        Assert.NotEqual(same[1], otherGroup[1]);
        Assert.Equal(same[^1], otherGroup[^1]);
    }

    [Theory]
    [InlineData("200-299", 204, true)]
    [InlineData("200,202", 201, false)]
    [InlineData("200,300-302", 301, true)]
    public void Matcher_TakesElbSyntax(string text, int code, bool expected) =>
        Assert.Equal(expected, ModelBuilder.ParseCodes(text, 200, 499, "http_code").Matches(code));

    [Theory]
    [InlineData("199")]
    [InlineData("500")]
    [InlineData("200-")]
    [InlineData("299-200")]
    [InlineData("abc")]
    public void Matcher_RefusesCodesOutsideElbsRange(string text) =>
        Assert.Throws<ConfigValidationException>(() => ModelBuilder.ParseCodes(text, 200, 499, "http_code"));

    [Fact]
    public void HealthCheck_TimeoutNotBelowTheInterval_IsRefusedWithTheField()
    {
        var snapshot = Snapshot(1, [Http(80, Forward("web"))], [Group("web", [8080], new HealthCheck { IntervalSeconds = 5, TimeoutSeconds = 5 })]);

        var error = Assert.Throws<ConfigValidationException>(() => ModelBuilder.Build("e", 1, snapshot.Config));

        Assert.Equal("target_groups[0].target_group.health_check.timeout_seconds", error.Field);
    }

    [Fact]
    public void HttpsListener_WithoutItsCertificate_IsRefused()
    {
        var listener = Http(443, Forward("web"));
        listener.Protocol = Scheduler.V1.ListenerProtocol.Https;
        listener.Certificates.Add(new CertificateRef { CertificateArn = "arn:missing" });
        var snapshot = Snapshot(1, [listener], [Group("web", [8080])]);

        var error = Assert.Throws<ConfigValidationException>(() => ModelBuilder.Build("e", 1, snapshot.Config));

        Assert.Contains("CertificateNotFound", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TcpListener_ForwardingToAnHttpGroup_IsRefused()
    {
        var snapshot = Snapshot(1, [Tcp(5432, "web")], [Group("web", [8080])]);

        var error = Assert.Throws<ConfigValidationException>(() => ModelBuilder.Build("e", 1, snapshot.Config));

        Assert.Equal("listeners[0].default_actions[0].forward", error.Field);
    }
}
