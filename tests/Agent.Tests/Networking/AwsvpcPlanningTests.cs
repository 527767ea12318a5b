using System.Net;
using Berth.Agent.Networking;
using Berth.Agent.Runtime;
using Berth.Agent.Sessions;
using Berth.Agent.Tasks;
using Berth.Core.Networking;
using Berth.Scheduler.V1;
using ContainerSpec = Berth.Agent.Tasks.ContainerSpec;
using HostNetwork = Berth.Scheduler.V1.HostNetwork;
using PeerRoute = Berth.Agent.Networking.PeerRoute;

namespace Berth.Agent.Tests.Networking;

/// <summary>awsvpc and FARGATE in the desired-state mapping and the planner (pure: no engine, no host).</summary>
public sealed class AwsvpcPlanningTests
{
    private const string Arn = "arn:berth:ecs:local:task-definition/web:1";

    [Fact]
    public void Awsvpc_PutsTheSandboxFirst_AndEveryContainerWaitsForItsAddress_WithNothingPublished()
    {
        var set = Map("""
            {"family":"web","networkMode":"awsvpc","cpu":"512","memory":"1 GB","containerDefinitions":[
              {"name":"init","image":"i","essential":false},
              {"name":"app","image":"i","portMappings":[{"containerPort":8080,"hostPort":8080}],"dependsOn":[{"containerName":"init","condition":"SUCCESS"}]}]}
            """, t => t.AwsvpcConfiguration = new AwsvpcConfiguration { SecurityGroups = { "sg-web", "sg-web", "sg-ops" } });

        var task = Assert.Single(set.Tasks);
        Assert.Null(task.InvalidReason);
        Assert.True(task.Awsvpc);
        Assert.Equal((512, 1024), (task.CpuLimit, task.MemoryLimit));
        Assert.Equal(["sg-web", "sg-ops"], task.SecurityGroups);
        Assert.Equal([ContainerSpec.SandboxName, "init", "app"], task.Containers.Select(c => c.Name));
        Assert.True(task.Containers[0].IsSandbox);
        Assert.Equal([(ContainerSpec.SandboxName, DependencyCondition.NetworkReady), ("init", DependencyCondition.Success)], task.Containers[2].DependsOn);
        Assert.Empty(task.Containers[2].Ports);
    }

    [Fact]
    public void Awsvpc_HostPortOtherThanTheContainerPort_FailsTheTask()
    {
        var task = Assert.Single(Map("""{"family":"web","networkMode":"awsvpc","containerDefinitions":[{"name":"app","image":"i","portMappings":[{"containerPort":80,"hostPort":8080}]}]}""").Tasks);

        Assert.Equal("CannotCreateContainerError: container app: hostPort 8080 must equal containerPort 80 in awsvpc network mode", task.InvalidReason);
    }

    [Fact]
    public void Fargate_IsIsolated_AndAHostPathFailsTheTask()
    {
        var ok = Assert.Single(Map("""{"family":"web","networkMode":"awsvpc","cpu":"256","memory":"512","containerDefinitions":[{"name":"app","image":"i"}]}""", t => { t.LaunchType = "FARGATE"; t.Runtime = "runsc"; }).Tasks);
        Assert.True(ok.Fargate);
        Assert.Equal("runsc", ok.Runtime);
        Assert.Null(ok.InvalidReason);

        var bad = Assert.Single(Map("""
            {"family":"web","networkMode":"awsvpc","cpu":"256","memory":"512","containerDefinitions":[{"name":"app","image":"i","mountPoints":[{"sourceVolume":"h","containerPath":"/x"}]}],
             "volumes":[{"name":"h","host":{"sourcePath":"/var/run"}}]}
            """, t => t.LaunchType = "FARGATE").Tasks);
        Assert.Equal("CannotCreateContainerError: FARGATE tasks cannot mount host paths: volume 'h' has host.sourcePath /var/run", bad.InvalidReason);
    }

    [Fact]
    public void HostNetwork_GroupsAndRecords_AreMapped_AndMalformedPartsDroppedWithAWarning()
    {
        var desired = Desired("""{"family":"web","containerDefinitions":[{"name":"app","image":"i"}]}""");
        desired.HostNetwork = new HostNetwork
        {
            TaskSubnet = "10.240.1.0/24",
            ClusterCidr = "10.240.0.0/16",
            PeerRoutes =
            {
                new Berth.Scheduler.V1.PeerRoute { Subnet = "10.240.2.0/24", Via = "10.0.0.12", ContainerInstanceId = "ci-2" },
                new Berth.Scheduler.V1.PeerRoute { Subnet = "10.240.1.128/25", Via = "10.0.0.13" },
                new Berth.Scheduler.V1.PeerRoute { Subnet = "10.240.3.0/24", Via = "somewhere" },
            },
        };
        desired.SecurityGroups.Add(new SecurityGroup
        {
            GroupId = "sg-web",
            Ingress =
            {
                new SecurityGroupRule { IpProtocol = "tcp", FromPort = 8080, ToPort = 8080, SourceGroupId = "sg-client" },
                new SecurityGroupRule { IpProtocol = "udp", FromPort = 53, ToPort = 53, CidrIpv4 = "10.0.0.0/8" },
                new SecurityGroupRule { IpProtocol = "gre", CidrIpv4 = "10.0.0.0/8" },
                new SecurityGroupRule { IpProtocol = "tcp", FromPort = 1, ToPort = 2, CidrIpv4 = "10.0.0.0/8", SourceGroupId = "sg-client" },
                new SecurityGroupRule { IpProtocol = "tcp", FromPort = 90, ToPort = 80, CidrIpv4 = "10.0.0.0/8" },
            },
            MemberAddresses = { "10.240.1.2", "nonsense" },
        });
        desired.ServiceDiscovery = new ServiceDiscovery
        {
            Namespaces = { "apps" },
            Records =
            {
                new DnsRecordSet { Name = "web.apps", Type = DnsRecordType.A, Addresses = { "10.240.1.2" } },
                new DnsRecordSet { Name = "legacy.apps", Type = DnsRecordType.Srv, TtlSeconds = 3, SrvTargets = { new SrvTarget { Target = "t.legacy.apps", Address = "10.0.0.11", Port = 49153 } } },
            },
        };

        var set = DesiredStateMapper.Map(desired);

        Assert.Equal(Ipv4Cidr.Parse("10.240.1.0/24"), set.HostNetwork!.TaskSubnet);
        Assert.Equal(Ipv4Cidr.Parse("10.240.0.0/16"), set.HostNetwork.ClusterCidr);
        Assert.Equal(new PeerRoute(Ipv4Cidr.Parse("10.240.2.0/24"), IPAddress.Parse("10.0.0.12"), "ci-2"), Assert.Single(set.HostNetwork.Peers));
        var group = Assert.Single(set.SecurityGroups);
        Assert.Equal(
            [new IngressRule(RuleProtocol.Tcp, 8080, 8080, null, "sg-client"), new IngressRule(RuleProtocol.Udp, 53, 53, Ipv4Cidr.Parse("10.0.0.0/8"), null)],
            group.Ingress);
        Assert.Equal([IPAddress.Parse("10.240.1.2")], group.Members);
        Assert.Equal(["web.apps", "legacy.apps"], set.ServiceDiscovery!.Records.Select(r => r.Name));
        Assert.Equal(TimeSpan.FromSeconds(3), set.ServiceDiscovery.Records[1].Ttl);
        Assert.Equal(6, set.Warnings.Count);
        Assert.Contains(set.Warnings, w => w.Contains("10.240.1.128/25 overlaps", StringComparison.Ordinal));
        Assert.Contains(set.Warnings, w => w.Contains("'gre'", StringComparison.Ordinal));
        Assert.Contains(set.Warnings, w => w.Contains("exactly one of cidr_ipv4 and source_group_id", StringComparison.Ordinal));
    }

    [Fact]
    public void BadTaskSubnet_LeavesTheHostNetworkUnset()
    {
        var desired = Desired("""{"family":"web","containerDefinitions":[{"name":"app","image":"i"}]}""");
        desired.HostNetwork = new HostNetwork { TaskSubnet = "10.240.1.0/30" };

        var set = DesiredStateMapper.Map(desired);

        Assert.Null(set.HostNetwork);
        Assert.Contains("/16 to /28", Assert.Single(set.Warnings), StringComparison.Ordinal);
    }

    [Fact]
    public void Planner_LaunchesTheSandboxAlone_ThenTheContainersOnceItHasItsAddress()
    {
        var record = new TaskRecord("t") { Spec = AwsvpcSpec() };

        Assert.Equal([ContainerSpec.SandboxName], TaskPlanner.Decide(record).Launch);

        Observe(record, ContainerSpec.SandboxName, ContainerRunState.Running);
        Assert.DoesNotContain("app", TaskPlanner.Decide(record).Launch);

        record.Attachment = Attachment();
        Assert.Equal(["app"], TaskPlanner.Decide(record).Launch);
    }

    [Fact]
    public void Planner_ReattachesARunningSandboxWithoutAnAddress()
    {
        // The agent died between the sandbox's start and the CNI ADD: the restarted agent attaches it again.
        var record = new TaskRecord("t") { Spec = AwsvpcSpec() };
        Observe(record, ContainerSpec.SandboxName, ContainerRunState.Running);

        Assert.Equal([ContainerSpec.SandboxName], TaskPlanner.Decide(record).Launch);
    }

    [Fact]
    public void Planner_StopsTheSandboxLast_AndReleasesTheAddressOnceStopped()
    {
        var record = new TaskRecord("t") { Spec = AwsvpcSpec(), Wanted = false, Attachment = Attachment() };
        Observe(record, ContainerSpec.SandboxName, ContainerRunState.Running);
        Observe(record, "app", ContainerRunState.Running);

        Assert.Equal(["app"], TaskPlanner.Decide(record).Stop);

        Observe(record, "app", ContainerRunState.Exited, 0);
        Assert.Equal([ContainerSpec.SandboxName], TaskPlanner.Decide(record).Stop);

        Observe(record, ContainerSpec.SandboxName, ContainerRunState.Exited, 0);
        var stopped = TaskPlanner.Decide(record);
        Assert.Equal(LocalStatus.Stopped, stopped.Phase);
        Assert.True(stopped.ReleaseNetwork);
        Assert.True(stopped.Remove);

        record.Phase = LocalStatus.Stopped;
        record.Attachment = null;
        Assert.False(TaskPlanner.Decide(record).ReleaseNetwork);
    }

    [Fact]
    public void Planner_AContainerKilledAtTheMemoryLimit_StopsTheTaskWithEcsReason_ButASiblingThatOnlyHeardOfItDoesNot()
    {
        var record = new TaskRecord("t") { Spec = AwsvpcSpec(), Attachment = Attachment() };
        Observe(record, ContainerSpec.SandboxName, ContainerRunState.Running);
        Observe(record, "app", ContainerRunState.Exited, 137, oom: true);

        var decision = TaskPlanner.Decide(record);

        Assert.Equal((TaskStopCode.EssentialContainerExited, "OutOfMemoryError: Container killed due to memory usage"), (decision.StopCode, decision.StoppedReason));
        record.Phase = decision.Phase;
        record.StopCode = decision.StopCode;
        record.StoppedReason = decision.StoppedReason;
        var report = TaskStatusReport.From(record, 1);
        Assert.Equal("OutOfMemoryError: Container killed due to memory usage", Assert.Single(report.Containers).Reason);
        Assert.Equal(IPAddress.Parse("10.240.1.2"), report.Network!.Address);

        // Docker flags every container under a cgroup that hit its limit; one that exited 0 on SIGTERM was not killed.
        Assert.False(TaskPlanner.KilledForMemory(record.Observed["app"] with { ExitCode = 0 }));
    }

    [Fact]
    public void Report_HidesTheSandbox_AndKeepsTheAddressMarkedReleasedAfterTheStop()
    {
        var record = new TaskRecord("t") { Spec = AwsvpcSpec(), LastAttachment = Attachment(), Phase = LocalStatus.Stopped };
        Observe(record, ContainerSpec.SandboxName, ContainerRunState.Exited, 0);
        Observe(record, "app", ContainerRunState.Exited, 0);

        var report = TaskStatusReport.From(record, 1);
        var proto = ReportMapper.Map(report);

        Assert.Equal(["app"], report.Containers.Select(c => c.Name));
        Assert.True(report.NetworkReleased);
        Assert.Equal(("10.240.1.2", "10.240.1.0/24", "10.240.1.1", true), (proto.NetworkAttachment.Ipv4Address, proto.NetworkAttachment.Subnet, proto.NetworkAttachment.Gateway, proto.NetworkAttachment.Released));
    }

    private static TaskSpec AwsvpcSpec() => new()
    {
        TaskId = "t",
        Cluster = "default",
        TaskDefinition = "web:1",
        NetworkMode = "awsvpc",
        Containers = [ContainerSpec.Sandbox(), new ContainerSpec { Name = "app", Image = "i", DependsOn = [(ContainerSpec.SandboxName, DependencyCondition.NetworkReady)] }],
    };

    private static NetworkAttachment Attachment() =>
        new(IPAddress.Parse("10.240.1.2"), Ipv4Cidr.Parse("10.240.1.0/24"), IPAddress.Parse("10.240.1.1"), "62:d1:90:66:87:45");

    private static void Observe(TaskRecord task, string name, ContainerRunState state, int? exit = null, bool oom = false)
    {
        task.Launched.Add(name);
        task.Observed[name] = new ContainerDetails { Id = "id-" + name, Name = name, Image = "i", Labels = new Dictionary<string, string>(), State = state, ExitCode = exit, OomKilled = oom };
    }

    private static DesiredState Desired(string json, Action<DesiredTask>? configure = null)
    {
        var desired = new DesiredState { Version = 3, ContainerInstanceId = "ci-1" };
        desired.TaskDefinitions.Add(new TaskDefinitionDocument { TaskDefinitionArn = Arn, TaskDefinitionJson = json });
        var task = new DesiredTask { TaskId = "t1", TaskArn = "arn:t1", Cluster = "default", TaskDefinitionArn = Arn, DesiredStatus = LifecycleStatus.Running };
        configure?.Invoke(task);
        desired.Tasks.Add(task);
        return desired;
    }

    private static DesiredTaskSet Map(string json, Action<DesiredTask>? configure = null) => DesiredStateMapper.Map(Desired(json, configure));
}
