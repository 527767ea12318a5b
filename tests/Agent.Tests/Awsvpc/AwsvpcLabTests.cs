using Berth.Scheduler.V1;
using Berth.TestSupport;
using Xunit.Abstractions;

namespace Berth.Agent.Tests.Awsvpc;

/// <summary>
/// awsvpc on lab hosts: real agent processes in the hosts' namespaces, real engines, CNI, routes, iptables and the
/// service discovery DNS server, driven through the agent protocol by a <see cref="ScriptedScheduler"/>.
/// </summary>
[Collection(EngineCollection.Name)]
[Trait("Category", "System")]
public sealed class AwsvpcLabTests(ITestOutputHelper output)
{
    [Fact]
    public async Task TasksOnTwoHosts_TalkByAddress_AndByNameThroughTheHostsDnsServer_WhichForwardsOtherNames()
    {
        await using var lab = await AwsvpcLab.StartAsync(2, output.WriteLine);
        var (h1, h2) = (lab.Hosts.Hosts[0], lab.Hosts.Hosts[1]);
        var server = AwsvpcLab.AwsvpcTask("server", AwsvpcLab.Server("hello-from-server", 8080));
        var client = AwsvpcLab.AwsvpcTask("client", AwsvpcLab.Idle);
        lab.Scheduler.SetDesired(AwsvpcLab.InstanceId(h1), lab.Desired(h1, [server]));
        lab.Scheduler.SetDesired(AwsvpcLab.InstanceId(h2), lab.Desired(h2, [client]));

        var serverReport = await lab.WaitRunningAsync(h1, "server");
        var clientReport = await lab.WaitRunningAsync(h2, "client");

        // Each task has an address of its own host's subnet; nothing is published on the hosts.
        var serverAddress = serverReport.NetworkAttachment.Ipv4Address;
        Assert.StartsWith("10.240.1.", serverAddress, StringComparison.Ordinal);
        Assert.StartsWith("10.240.2.", clientReport.NetworkAttachment.Ipv4Address, StringComparison.Ordinal);
        Assert.Equal(("10.240.1.0/24", "10.240.1.1"), (serverReport.NetworkAttachment.Subnet, serverReport.NetworkAttachment.Gateway));
        Assert.Empty(serverReport.Containers.Single().NetworkBindings);
        Assert.Equal("main", Assert.Single(serverReport.Containers).Name);
        var ports = (await lab.Hosts.DockerAsync(h1, "ps", "--format", "{{.Ports}}")).EnsureSuccess("docker ps").StandardOutput;
        Assert.DoesNotContain("->", ports, StringComparison.Ordinal);

        // By address, across hosts: routed through h2's peer route to h1, no NAT inside the cluster.
        var reply = "";
        await TaskTimeouts.WaitUntilAsync(async () => (reply = await lab.ConnectAsync(h2, clientReport, serverAddress, 8080)).Length > 0, TimeSpan.FromSeconds(30), "the client to reach the server by address");
        Assert.Equal("hello-from-server", reply);

        // By name: the scheduler's records reach the DNS servers; the task's resolver is its host's bridge address.
        var discovery = new ServiceDiscovery { Namespaces = { "apps" }, Records = { new DnsRecordSet { Name = "web.apps", Type = DnsRecordType.A, TtlSeconds = 2, Addresses = { serverAddress } } } };
        lab.Scheduler.SetDesired(AwsvpcLab.InstanceId(h1), lab.Desired(h1, [server], discovery: discovery));
        lab.Scheduler.SetDesired(AwsvpcLab.InstanceId(h2), lab.Desired(h2, [client], discovery: discovery));
        Assert.Equal("nameserver 10.240.2.1", (await lab.ExecAsync(h2, clientReport, "grep nameserver /etc/resolv.conf")).StandardOutput.Trim());
        var lookup = new ProcessResult(1, "", "");
        await TaskTimeouts.WaitUntilAsync(async () => (lookup = await lab.ExecAsync(h2, clientReport, "nslookup web.apps")).StandardOutput.Contains(serverAddress, StringComparison.Ordinal), TimeSpan.FromSeconds(30), "web.apps to resolve in the client");
        Assert.Equal("hello-from-server", await lab.ConnectAsync(h2, clientReport, "web.apps", 8080));

        // Inside the namespace, an unknown name is NXDOMAIN; outside it, names go to the host's resolver.
        Assert.Contains("NXDOMAIN", (await lab.ExecAsync(h2, clientReport, "nslookup nothing.apps 2>&1")).StandardOutput, StringComparison.Ordinal);
        Assert.Contains(UpstreamDns.Answer, (await lab.ExecAsync(h2, clientReport, $"nslookup {UpstreamDns.Name}")).StandardOutput, StringComparison.Ordinal);
        Assert.Contains(UpstreamDns.Name, lab.Upstream.Asked);
        Assert.DoesNotContain("web.apps", lab.Upstream.Asked);
    }

    [Fact]
    public async Task SecurityGroups_AllowExactlyWhatTheyWrite_AcrossHostsAndOnOneHost_AndFollowChanges()
    {
        await using var lab = await AwsvpcLab.StartAsync(2, output.WriteLine);
        var (h1, h2) = (lab.Hosts.Hosts[0], lab.Hosts.Hosts[1]);
        var server = AwsvpcLab.AwsvpcTask("server", AwsvpcLab.Server("hello-from-server", 8080, 8081), ["sg-web"]);
        var bystander = AwsvpcLab.AwsvpcTask("bystander", AwsvpcLab.Idle, ["sg-other"]);
        var client = AwsvpcLab.AwsvpcTask("client", AwsvpcLab.Idle, ["sg-client"]);
        var intruder = AwsvpcLab.AwsvpcTask("intruder", AwsvpcLab.Idle, ["sg-other"]);
        var mate = AwsvpcLab.AwsvpcTask("mate", AwsvpcLab.Idle, ["sg-web"]);
        var members = new Dictionary<string, List<string>> { ["sg-web"] = [], ["sg-client"] = [], ["sg-other"] = [] };
        var webRules = new List<SecurityGroupRule> { new() { IpProtocol = "tcp", FromPort = 8080, ToPort = 8080, SourceGroupId = "sg-client" } };
        void Send()
        {
            var groups = members.Select(m =>
            {
                var group = new SecurityGroup { GroupId = m.Key, MemberAddresses = { m.Value } };
                if (m.Key == "sg-web")
                {
                    group.Ingress.AddRange(webRules);
                }

                return group;
            }).ToList();
            lab.Scheduler.SetDesired(AwsvpcLab.InstanceId(h1), lab.Desired(h1, [server, bystander], groups));
            lab.Scheduler.SetDesired(AwsvpcLab.InstanceId(h2), lab.Desired(h2, [client, intruder, mate], groups));
        }

        // First the tasks (the scheduler learns their addresses from the reports), then the groups' members.
        Send();
        var reports = new Dictionary<string, TaskReport>
        {
            ["server"] = await lab.WaitRunningAsync(h1, "server"),
            ["bystander"] = await lab.WaitRunningAsync(h1, "bystander"),
            ["client"] = await lab.WaitRunningAsync(h2, "client"),
            ["intruder"] = await lab.WaitRunningAsync(h2, "intruder"),
            ["mate"] = await lab.WaitRunningAsync(h2, "mate"),
        };
        string Address(string task) => reports[task].NetworkAttachment.Ipv4Address;
        members["sg-web"].AddRange([Address("server"), Address("mate")]);
        members["sg-client"].Add(Address("client"));
        members["sg-other"].AddRange([Address("bystander"), Address("intruder")]);
        Send();

        var reply = "";
        await TaskTimeouts.WaitUntilAsync(async () => (reply = await lab.ConnectAsync(h2, reports["client"], Address("server"), 8080)).Length > 0, TimeSpan.FromSeconds(30), "sg-client to reach the server on 8080");
        Assert.Equal("hello-from-server", reply);

        // The rules are in: from here on every answer is final.
        Assert.Equal("", await lab.ConnectAsync(h2, reports["client"], Address("server"), 8081));          // port not in the rule
        Assert.Equal("", await lab.ConnectAsync(h2, reports["intruder"], Address("server"), 8080));       // source not in the group
        Assert.Equal("", await lab.ConnectAsync(h1, reports["bystander"], Address("server"), 8080));      // same host, same bridge: still filtered
        Assert.Equal("hello-from-server", await lab.ConnectAsync(h2, reports["mate"], Address("server"), 8081)); // group mates reach each other

        // The kernel holds the rules (iptables-nft in the host's namespace).
        var rules = (await lab.Hosts.ExecAsync(h1, "iptables", ["-S", "BERTH-INGRESS"])).EnsureSuccess("iptables -S").StandardOutput;
        Assert.Contains($"-A BERTH-INGRESS -s {Address("client")}/32 -d {Address("server")}/32 -p tcp -m tcp --dport 8080 -j ACCEPT", rules, StringComparison.Ordinal);

        // A new rule (h2's task subnet may use 8081) reaches the hosts with the next desired state.
        webRules.Add(new SecurityGroupRule { IpProtocol = "tcp", FromPort = 8081, ToPort = 8081, CidrIpv4 = AwsvpcLab.Subnet(h2) });
        Send();
        await TaskTimeouts.WaitUntilAsync(async () => (await lab.ConnectAsync(h2, reports["intruder"], Address("server"), 8081)).Length > 0, TimeSpan.FromSeconds(30), "h2's subnet to reach 8081 once the rule is added");
        Assert.Equal("", await lab.ConnectAsync(h1, reports["bystander"], Address("server"), 8081));
        Assert.Equal("", await lab.ConnectAsync(h2, reports["intruder"], Address("server"), 8080));
    }

    [Fact]
    public async Task TwoTasksOnOneHost_CannotSeeEachOthersProcessesOrLocalhost_WhileATasksContainersShareTheirs()
    {
        await using var lab = await AwsvpcLab.StartAsync(1, output.WriteLine);
        var h1 = lab.Hosts.Hosts[0];
        var a = AwsvpcLab.AwsvpcTask("a", "trap 'exit 0' TERM; sleep 4242 & while true; do echo a-local | nc -l -p 7000; done & wait", sidecarScript: AwsvpcLab.Idle);
        var b = AwsvpcLab.AwsvpcTask("b", AwsvpcLab.Idle);
        lab.Scheduler.SetDesired(AwsvpcLab.InstanceId(h1), lab.Desired(h1, [a, b]));
        var ra = await lab.WaitRunningAsync(h1, "a");
        var rb = await lab.WaitRunningAsync(h1, "b");
        Assert.NotEqual(ra.NetworkAttachment.Ipv4Address, rb.NetworkAttachment.Ipv4Address);

        // a's sidecar shares a's network namespace: its localhost is a's.
        var shared = "";
        await TaskTimeouts.WaitUntilAsync(async () => (shared = (await lab.ExecAsync(h1, ra, "nc -w 2 127.0.0.1 7000 </dev/null", "sidecar")).StandardOutput.Trim()).Length > 0, TimeSpan.FromSeconds(30), "a's sidecar to reach a on localhost");
        Assert.Equal("a-local", shared);

        // b has a localhost, a process table and an IPC namespace of its own.
        Assert.Equal("", await lab.ConnectAsync(h1, rb, "127.0.0.1", 7000));
        Assert.DoesNotContain("4242", (await lab.ExecAsync(h1, rb, "ps")).StandardOutput, StringComparison.Ordinal);
        Assert.Contains("4242", (await lab.ExecAsync(h1, ra, "ps")).StandardOutput, StringComparison.Ordinal);
        var namespaces = new List<string>();
        foreach (var (report, kind) in new[] { (ra, "net"), (rb, "net"), (ra, "pid"), (rb, "pid"), (ra, "ipc"), (rb, "ipc") })
        {
            namespaces.Add((await lab.ExecAsync(h1, report, $"readlink /proc/self/ns/{kind}")).StandardOutput.Trim());
        }

        Assert.Equal(6, namespaces.Distinct().Count());
    }

    [Fact]
    public async Task FargateTask_RunsUnderGvisor_InItsOwnNamespaces_ReachableByAddress_AndHostPathsAreRefused()
    {
        Assert.True(File.Exists("/usr/bin/runsc"), "gVisor is not installed (apt-get install runsc); CI installs it");
        await using var lab = await AwsvpcLab.StartAsync(1, output.WriteLine);
        var h1 = lab.Hosts.Hosts[0];
        const string Sizes = ""","cpu":"256","memory":"512","requiresCompatibilities":["FARGATE"]""";
        var fargate = AwsvpcLab.AwsvpcTask("fargate", AwsvpcLab.Server("hello-from-gvisor", 8080), extraDefinition: Sizes, launchType: "FARGATE");
        var neighbour = AwsvpcLab.AwsvpcTask("neighbour", AwsvpcLab.Idle);
        var hostPath = AwsvpcLab.AwsvpcTask("hostpath", AwsvpcLab.Idle, extraDefinition: Sizes + ""","volumes":[{"name":"etc","host":{"sourcePath":"/etc"}}]""", launchType: "FARGATE");
        lab.Scheduler.SetDesired(AwsvpcLab.InstanceId(h1), lab.Desired(h1, [fargate, neighbour, hostPath]));

        var refused = await lab.Scheduler.WaitForTaskAsync(AwsvpcLab.InstanceId(h1), "hostpath", r => r.LastStatus == LifecycleStatus.Stopped, TimeSpan.FromSeconds(60), "the host-path task to fail");
        Assert.Equal(StopCode.TaskFailedToStart, refused.StopCode);
        Assert.Equal("CannotCreateContainerError: FARGATE tasks cannot mount host paths: volume 'etc' has host.sourcePath /etc", refused.StoppedReason);

        var rf = await lab.WaitRunningAsync(h1, "fargate");
        var rn = await lab.WaitRunningAsync(h1, "neighbour");

        // gVisor's kernel answers inside; the engine ran it with runsc, private IPC, no new privileges, no extra capabilities.
        Assert.Contains("4.4.0", (await lab.ExecAsync(h1, rf, "cat /proc/version")).StandardOutput, StringComparison.Ordinal);
        var id = rf.Containers.Single(c => c.Name == "main").RuntimeId;
        var config = (await lab.Hosts.DockerAsync(h1, "inspect", "--format", "{{.HostConfig.Runtime}} {{.HostConfig.IpcMode}} {{.HostConfig.Privileged}} {{.HostConfig.SecurityOpt}} {{.HostConfig.CapAdd}} {{.HostConfig.CgroupParent}}", id)).EnsureSuccess("docker inspect").StandardOutput.Trim();
        Assert.Equal($"runsc private false [no-new-privileges] [] /{h1.Namespace}/berth/task-fargate", config);
        Assert.Equal("runc", (await lab.Hosts.DockerAsync(h1, "inspect", "--format", "{{.HostConfig.Runtime}}", rn.Containers.Single().RuntimeId)).StandardOutput.Trim());

        // The awsvpc address works through gVisor (it uses the sandbox namespace's kernel stack: --network=host).
        var reply = "";
        await TaskTimeouts.WaitUntilAsync(async () => (reply = await lab.ConnectAsync(h1, rn, rf.NetworkAttachment.Ipv4Address, 8080)).Length > 0, TimeSpan.FromSeconds(30), "the neighbour to reach the FARGATE task");
        Assert.Equal("hello-from-gvisor", reply);

        // Nothing of the one is visible from the other.
        Assert.DoesNotContain("nc -l", (await lab.ExecAsync(h1, rn, "ps")).StandardOutput, StringComparison.Ordinal);
        Assert.Equal("", await lab.ConnectAsync(h1, rn, "127.0.0.1", 8080));
    }

    [Fact]
    public async Task AgentKilled_AdoptsItsTasksWithTheirAddresses_AndReleasesAnAddressWhenItsTaskStops()
    {
        await using var lab = await AwsvpcLab.StartAsync(1, output.WriteLine);
        var h1 = lab.Hosts.Hosts[0];
        var keep = AwsvpcLab.AwsvpcTask("keep", AwsvpcLab.Server("still-here", 8080));
        var go = AwsvpcLab.AwsvpcTask("go", AwsvpcLab.Idle);
        lab.Scheduler.SetDesired(AwsvpcLab.InstanceId(h1), lab.Desired(h1, [keep, go]));
        var before = await lab.WaitRunningAsync(h1, "keep");
        var goReport = await lab.WaitRunningAsync(h1, "go");
        Assert.Equal(new[] { before.NetworkAttachment.Ipv4Address, goReport.NetworkAttachment.Ipv4Address }.Order(StringComparer.Ordinal), lab.AllocatedAddresses(h1));

        // kill -9, then a new agent process with the same state directory. The scheduler resends the same set.
        await lab.KillAgentAsync(h1);
        lab.StartAgent(h1);
        var after = await lab.Scheduler.WaitForTaskAsync(AwsvpcLab.InstanceId(h1), "keep",
            r => r.LastStatus == LifecycleStatus.Running && r.Sequence > before.Sequence && r.NetworkAttachment is not null, TimeSpan.FromSeconds(90), "the restarted agent to report keep");
        Assert.Equal(before.NetworkAttachment, after.NetworkAttachment);
        Assert.Equal(before.Containers.Single().RuntimeId, after.Containers.Single().RuntimeId);
        var containers = (await lab.Hosts.DockerAsync(h1, "ps", "-a", "--filter", "label=berth.task-id=keep", "--format", "{{.Names}}")).EnsureSuccess("docker ps").StandardOutput;
        Assert.Equal(2, containers.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Equal("still-here", await lab.ConnectAsync(h1, goReport, after.NetworkAttachment.Ipv4Address, 8080));

        // "go" leaves the desired set: stopped, its address back in the pool (and reported so), its containers gone.
        lab.Scheduler.SetDesired(AwsvpcLab.InstanceId(h1), lab.Desired(h1, [keep]));
        var stopped = await lab.Scheduler.WaitForTaskAsync(AwsvpcLab.InstanceId(h1), "go", r => r.LastStatus == LifecycleStatus.Stopped && r.NetworkAttachment is { Released: true }, TimeSpan.FromSeconds(60), "go to stop and release its address");
        Assert.Equal(goReport.NetworkAttachment.Ipv4Address, stopped.NetworkAttachment.Ipv4Address);
        await TaskTimeouts.WaitUntilAsync(() => Task.FromResult(lab.AllocatedAddresses(h1).SequenceEqual([after.NetworkAttachment.Ipv4Address])), TimeSpan.FromSeconds(30), "only keep's address to stay allocated");

        // A new task gets an address, and the next one after it is still free.
        var next = AwsvpcLab.AwsvpcTask("next", AwsvpcLab.Idle);
        lab.Scheduler.SetDesired(AwsvpcLab.InstanceId(h1), lab.Desired(h1, [keep, next]));
        var nextReport = await lab.WaitRunningAsync(h1, "next");
        Assert.NotEqual(after.NetworkAttachment.Ipv4Address, nextReport.NetworkAttachment.Ipv4Address);
        Assert.Equal(2, lab.AllocatedAddresses(h1).Count);
    }
}
