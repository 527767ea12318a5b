using Berth.Agent.Runtime;
using Docker.DotNet.Models;

namespace Berth.Agent.Tests.Runtime;

/// <summary>
/// How the engine's published ports become a task's bindings: one per host port and container port, the IPv4 ones when
/// the engine lists both families (which Docker 20.10 may give different ephemeral ports).
/// </summary>
public sealed class EnginePortBindingsTests
{
    [Fact]
    public void BothFamiliesOnOnePort_AreOneBinding()
    {
        var details = DockerContainerRuntime.ToDetails(Inspect(("8080/tcp", [("0.0.0.0", "32772"), ("::", "32772")])));

        Assert.Equal([new HostPortBinding(8080, "tcp", 32772)], details.Ports);
    }

    [Fact]
    public void FamiliesOnDifferentEphemeralPorts_ReportTheIpv4One()
    {
        var details = DockerContainerRuntime.ToDetails(Inspect(("8080/tcp", [("::", "32773"), ("0.0.0.0", "32772")])));

        Assert.Equal([new HostPortBinding(8080, "tcp", 32772)], details.Ports);
    }

    [Fact]
    public void OnlyIpv6_IsReported_AndTwoIpv4HostPortsForOneContainerPortStayTwo()
    {
        var details = DockerContainerRuntime.ToDetails(Inspect(
            ("53/udp", [("::", "5353")]),
            ("80/tcp", [("0.0.0.0", "8080"), ("0.0.0.0", "8081"), ("::", "8080"), ("::", "8081")])));

        Assert.Equal([new HostPortBinding(53, "udp", 5353), new HostPortBinding(80, "tcp", 8080), new HostPortBinding(80, "tcp", 8081)], details.Ports);
    }

    private static ContainerInspectResponse Inspect(params (string Key, (string Ip, string Port)[] Bindings)[] ports) => new()
    {
        ID = "c1",
        Name = "/web",
        Image = "sha256:1",
        State = new State { Status = "running", Running = true },
        NetworkSettings = new NetworkSettings
        {
            Ports = ports.ToDictionary(p => p.Key, p => (IList<PortBinding>)[.. p.Bindings.Select(b => new PortBinding { HostIP = b.Ip, HostPort = b.Port })]),
        },
    };
}
