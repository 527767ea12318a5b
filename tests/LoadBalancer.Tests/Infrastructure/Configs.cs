using Berth.Scheduler.V1;
using Action = Berth.Scheduler.V1.RuleAction;

namespace Berth.LoadBalancer.Tests.Infrastructure;

/// <summary>Builds the wire configurations the fake scheduler sends.</summary>
internal static class Configs
{
    public const string LoadBalancerArn = "arn:berth:elasticloadbalancing:local:000000000000:loadbalancer/app/test/0000000000000001";
    public const string Epoch = "epoch-1";

    public static string GroupArn(string name) => $"arn:berth:elasticloadbalancing:local:000000000000:targetgroup/{name}/00000000000000aa";

    public static string ListenerArn(int port) => $"arn:berth:elasticloadbalancing:local:000000000000:listener/app/test/0000000000000001/{port:x16}";

    public static ConfigSnapshot Snapshot(long version, IEnumerable<Listener> listeners, IEnumerable<TargetGroupState> groups, IEnumerable<Rule>? rules = null, IEnumerable<CertificateMaterial>? certificates = null, int reportIntervalMs = 0) => new()
    {
        Epoch = Epoch,
        Version = version,
        ReportIntervalMs = reportIntervalMs,
        Config = new BalancerConfig
        {
            LoadBalancer = new Berth.Scheduler.V1.LoadBalancer { LoadBalancerArn = LoadBalancerArn, LoadBalancerName = "test" },
            Listeners = { listeners },
            TargetGroups = { groups },
            Rules = { rules ?? [] },
            Certificates = { certificates ?? [] },
        },
    };

    /// <summary>A target group; health checks off unless <paramref name="health"/> is given (then on, path <c>/health</c>).</summary>
    public static TargetGroupState Group(string name, IEnumerable<int> targetPorts, HealthCheck? health = null, TargetProtocol protocol = TargetProtocol.Http, TargetProtocolVersion version = TargetProtocolVersion.Http1, TargetGroupAttributes? attributes = null)
    {
        var group = new TargetGroupState
        {
            TargetGroup = new TargetGroup
            {
                TargetGroupArn = GroupArn(name),
                TargetGroupName = name,
                Protocol = protocol,
                ProtocolVersion = version,
                Port = 80,
                HealthCheck = health ?? new HealthCheck { Enabled = false },
                Attributes = attributes ?? new TargetGroupAttributes(),
            },
        };
        foreach (var port in targetPorts)
        {
            group.Targets.Add(Target(port));
        }

        return group;
    }

    public static TargetState Target(int port, bool draining = false) => new()
    {
        Target = new TargetDescription { Id = "127.0.0.1", Port = port },
        Registration = draining ? TargetRegistration.Draining : TargetRegistration.Registered,
    };

    public static Listener Http(int port, Action defaultAction) => new()
    {
        ListenerArn = ListenerArn(port),
        LoadBalancerArn = LoadBalancerArn,
        Port = port,
        Protocol = ListenerProtocol.Http,
        DefaultActions = { defaultAction },
    };

    public static Listener Tcp(int port, string group) => new()
    {
        ListenerArn = ListenerArn(port),
        LoadBalancerArn = LoadBalancerArn,
        Port = port,
        Protocol = ListenerProtocol.Tcp,
        DefaultActions = { Forward(group) },
    };

    public static Action Forward(string group) => new() { Forward = new ForwardActionConfig { TargetGroups = { new TargetGroupTuple { TargetGroupArn = GroupArn(group) } } } };

    public static Action Forward(params (string Group, int Weight)[] groups)
    {
        var forward = new ForwardActionConfig();
        foreach (var (group, weight) in groups)
        {
            forward.TargetGroups.Add(new TargetGroupTuple { TargetGroupArn = GroupArn(group), Weight = weight });
        }

        return new Action { Forward = forward };
    }

    public static Action Fixed(string status, string body, string contentType = "text/plain") =>
        new() { FixedResponse = new FixedResponseActionConfig { StatusCode = status, MessageBody = body, ContentType = contentType } };

    public static Rule Rule(int listenerPort, int priority, Action action, params RuleCondition[] conditions) => new()
    {
        RuleArn = $"{ListenerArn(listenerPort)}/rule-{priority}",
        ListenerArn = ListenerArn(listenerPort),
        Priority = priority,
        Actions = { action },
        Conditions = { conditions },
    };

    public static RuleCondition Path(params string[] values) => new() { PathPattern = new PathPatternCondition { Values = { values } } };

    public static RuleCondition Host(params string[] values) => new() { HostHeader = new HostHeaderCondition { Values = { values } } };

    public static RuleCondition Header(string name, params string[] values) => new() { HttpHeader = new HttpHeaderCondition { HttpHeaderName = name, Values = { values } } };

    public static RuleCondition Query(string key, string value) => new() { QueryString = new QueryStringCondition { Values = { new QueryStringKeyValue { Key = key, Value = value } } } };

    public static RuleCondition Method(params string[] values) => new() { HttpRequestMethod = new HttpRequestMethodCondition { Values = { values } } };

    public static ConfigDelta Delta(long baseVersion, long version, params ConfigChange[] changes) => new()
    {
        Epoch = Epoch,
        BaseVersion = baseVersion,
        Version = version,
        Changes = { changes },
    };

    public static ConfigChange Drain(string group, int port) =>
        new() { TargetUpserted = new TargetChange { TargetGroupArn = GroupArn(group), Target = Target(port, draining: true) } };

    public static ConfigChange Register(string group, int port) =>
        new() { TargetUpserted = new TargetChange { TargetGroupArn = GroupArn(group), Target = Target(port) } };

    public static ConfigChange Deregistered(string group, int port) =>
        new() { TargetRemoved = new TargetChange { TargetGroupArn = GroupArn(group), Target = Target(port) } };
}
