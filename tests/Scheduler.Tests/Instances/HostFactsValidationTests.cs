using Berth.Scheduler.Tests.Infrastructure;
using Berth.Scheduler.V1;
using Berth.TestSupport;
using Grpc.Core;
using Xunit.Abstractions;

namespace Berth.Scheduler.Tests.Instances;

/// <summary>
/// Register (anyone with the join token) and a session's Hello may not hand the scheduler what operators' terminals
/// and placement would trip over: control characters, oversized values, floods of attributes, absurd resources, or a
/// custom attribute standing in for a built-in one. Each is INVALID_ARGUMENT naming the field, and nothing is stored.
/// </summary>
public sealed class HostFactsValidationTests(ITestOutputHelper output) : SchedulerTest(output)
{
    public static TheoryData<string, string> BadFacts() => new()
    {
        { "escape-in-hostname", "facts.hostname" },
        { "bell-in-zone", "facts.zone" },
        { "newline-in-zone", "facts.zone" },
        { "carriage-return-in-instance-type", "facts.instance_type" },
        { "huge-hostname", "facts.hostname" },
        { "long-zone", "facts.zone" },
        { "many-attributes", "facts.attributes" },
        { "huge-cpu", "facts.cpu" },
        { "huge-memory", "facts.memory" },
        { "zero-cpu", "facts.cpu" },
        { "custom-berth-zone", "facts.attributes[0]" },
        { "custom-ecs-zone", "facts.attributes[0]" },
        { "custom-os-type", "facts.attributes[0]" },
        { "control-in-attribute-value", "facts.attributes[0]" },
        { "long-attribute-value", "facts.attributes[0]" },
        { "long-attribute-name", "facts.attributes[0]" },
        { "many-reserved-ports", "facts.reserved_ports" },
        { "bad-reserved-port", "facts.reserved_ports_udp" },
        { "escape-in-agent-version", "facts.agent_version" },
    };

    private static HostFacts Facts(string shape)
    {
        var facts = SimulatedAgent.DefaultFacts();
        switch (shape)
        {
            case "escape-in-hostname": facts.Hostname = "web\u001b[31mred"; break;
            case "bell-in-zone": facts.Zone = "zone\u0007a"; break;
            case "newline-in-zone": facts.Zone = "zone-a\nberth.zone=zone-b"; break;
            case "carriage-return-in-instance-type": facts.InstanceType = "m5\rlarge"; break;
            case "huge-hostname": facts.Hostname = new string('h', 100 * 1024); break;
            case "long-zone": facts.Zone = new string('z', 129); break;
            case "many-attributes": facts.Attributes.AddRange(Enumerable.Range(0, 10_000).Select(i => new InstanceAttribute { Name = $"a{i}", Value = "v" })); break;
            case "huge-cpu": facts.Cpu = int.MaxValue; break;
            case "huge-memory": facts.Memory = int.MaxValue; break;
            case "zero-cpu": facts.Cpu = 0; break;
            case "custom-berth-zone": facts.Attributes.Add(new InstanceAttribute { Name = "berth.zone", Value = "zone-z" }); break;
            case "custom-ecs-zone": facts.Attributes.Add(new InstanceAttribute { Name = "ecs.availability-zone", Value = "zone-z" }); break;
            case "custom-os-type": facts.Attributes.Add(new InstanceAttribute { Name = "ecs.os-type", Value = "windows" }); break;
            case "control-in-attribute-value": facts.Attributes.Add(new InstanceAttribute { Name = "team", Value = "blue\u001b]0;owned\u0007" }); break;
            case "long-attribute-value": facts.Attributes.Add(new InstanceAttribute { Name = "team", Value = new string('v', 129) }); break;
            case "long-attribute-name": facts.Attributes.Add(new InstanceAttribute { Name = new string('n', 129), Value = "v" }); break;
            case "many-reserved-ports": facts.ReservedPorts.AddRange(Enumerable.Range(1000, 101)); break;
            case "bad-reserved-port": facts.ReservedPortsUdp.Add(70000); break;
            case "escape-in-agent-version": facts.AgentVersion = "1.0\u001b[2J"; break;
            default: throw new ArgumentOutOfRangeException(nameof(shape));
        }

        return facts;
    }

    [Theory]
    [MemberData(nameof(BadFacts))]
    public async Task Register_BadFacts_IsInvalidArgumentNamingTheField_AndStoresNothing(string shape, string field)
    {
        var e = await Assert.ThrowsAsync<RpcException>(() => Host.Agents.RegisterAsync(new RegisterRequest { JoinToken = Host.JoinToken, Facts = Facts(shape) }).ResponseAsync.WithTimeout());

        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.StartsWith(field, e.Status.Detail, StringComparison.Ordinal);
        // The message never echoes a control character back.
        Assert.DoesNotContain(e.Status.Detail, char.IsControl);
        var clusters = await Host.Clusters.DescribeClustersAsync(new DescribeClustersRequest { Clusters = { "default" } }, Host.Admin);
        Assert.Empty(clusters.Clusters);
    }

    [Fact]
    public async Task Register_AgentCapabilitiesAndTenCustomAttributes_AreAccepted()
    {
        var facts = SimulatedAgent.DefaultFacts();
        facts.Attributes.Add(new InstanceAttribute { Name = "ecs.capability.gpu", Value = "" });
        facts.Attributes.AddRange(Enumerable.Range(0, 9).Select(i => new InstanceAttribute { Name = $"team-{i}", Value = "a b/c:d@e" }));

        await using var agent = await SimulatedAgent.RegisterAsync(Host, facts: facts);

        var instance = (await Host.Instances.DescribeContainerInstancesAsync(new DescribeContainerInstancesRequest { ContainerInstances = { agent.InstanceId } }, Host.Admin)).ContainerInstances.Single();
        Assert.Contains(instance.Attributes, a => a.Name == "berth.capability.gpu");
        Assert.Equal("zone-a", instance.Attributes.Single(a => a.Name == "berth.zone").Value);
    }

    [Fact]
    public async Task Hello_WithBadFacts_EndsTheSessionWithInvalidArgument_AndKeepsTheStoredFacts()
    {
        await using var registered = await SimulatedAgent.RegisterAsync(Host, connect: false);
        var bad = registered.Facts.Clone();
        bad.Hostname = "evil\u001b[2Jhost";

        await using var agent = await SimulatedAgent.ResumeAsync(Host, registered.Registration, bad);
        var end = await agent.WaitForEndAsync();

        Assert.Equal(StatusCode.InvalidArgument, end.StatusCode);
        Assert.StartsWith("hello.facts.hostname", end.Detail, StringComparison.Ordinal);
        var instance = (await Host.Instances.DescribeContainerInstancesAsync(new DescribeContainerInstancesRequest { ContainerInstances = { registered.InstanceId } }, Host.Admin)).ContainerInstances.Single();
        Assert.Equal(registered.Facts.Hostname, instance.Hostname);
        Assert.False(instance.AgentConnected);
    }

    [Fact]
    public async Task PutAttributes_BeyondTenCustomAttributes_OrABuiltInName_IsInvalidArgument()
    {
        await using var agent = await SimulatedAgent.RegisterAsync(Host);
        var ten = Enumerable.Range(0, 10).Select(i => new TargetedAttribute { Name = $"k{i}", Value = "v", TargetId = agent.InstanceId });
        await Host.Instances.PutAttributesAsync(new PutAttributesRequest { Attributes = { ten } }, Host.Admin);

        var eleventh = await Assert.ThrowsAsync<RpcException>(() => Host.Instances.PutAttributesAsync(
            new PutAttributesRequest { Attributes = { new TargetedAttribute { Name = "k10", Value = "v", TargetId = agent.InstanceId } } }, Host.Admin).ResponseAsync);
        var zone = await Assert.ThrowsAsync<RpcException>(() => Host.Instances.PutAttributesAsync(
            new PutAttributesRequest { Attributes = { new TargetedAttribute { Name = "ecs.availability-zone", Value = "x", TargetId = agent.InstanceId } } }, Host.Admin).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, eleventh.StatusCode);
        Assert.StartsWith("attributes", eleventh.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(StatusCode.InvalidArgument, zone.StatusCode);
        Assert.StartsWith("attributes[0]", zone.Status.Detail, StringComparison.Ordinal);
    }
}
