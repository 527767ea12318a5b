using Berth.Scheduler.V1;
using Berth.TestSupport;
using Xunit.Abstractions;

namespace Berth.Agent.Tests.Awsvpc;

/// <summary>
/// Security groups end to end: the real scheduler (groups, rules, awsvpc tasks placed by RunTask), real agents on lab
/// hosts enforcing what it sends with iptables, and connections tried from inside the tasks' containers.
/// </summary>
[Collection(EngineCollection.Name)]
[Trait("Category", "System")]
public sealed class SecurityGroupLabTests(ITestOutputHelper output)
{
    private const int Port = 8080;

    [Fact]
    public async Task ServerInGroupA_AllowsGroupBOnly_UntilTheIntrudersCidrIsAuthorized()
    {
        await using var platform = await LabPlatform.StartAsync(output.WriteLine);
        var (h1, h2) = (platform.Lab.Hosts[0], platform.Lab.Hosts[1]);
        await RegisterAsync(platform, "sg-server", AwsvpcLab.Server("hello-from-a", Port));
        await RegisterAsync(platform, "sg-client", AwsvpcLab.Idle);

        var a = await CreateGroupAsync(platform, "group-a");
        var b = await CreateGroupAsync(platform, "group-b");
        await platform.SecurityGroups.AuthorizeSecurityGroupIngressAsync(new AuthorizeSecurityGroupIngressRequest
        {
            Cluster = LabPlatform.Cluster,
            Group = a,
            IpPermissions = { new IpPermission { IpProtocol = "tcp", FromPort = Port, ToPort = Port, UserIdGroupPairs = { new UserIdGroupPair { GroupId = b } } } },
        }, platform.Admin);

        // The server on h1 in A; the client (in B) and the intruder (in the cluster's default group) on h2.
        var server = await RunAsync(platform, "sg-server", h1, a);
        var client = await RunAsync(platform, "sg-client", h2, b);
        var intruder = await RunAsync(platform, "sg-client", h2);
        var serverAddress = Address(server);

        var reply = "";
        await TaskTimeouts.WaitUntilAsync(async () => (reply = await ConnectAsync(platform, h2, client, serverAddress)).Length > 0, TimeSpan.FromSeconds(60), "the client in B to reach the server in A");
        Assert.Equal("hello-from-a", reply);

        // B's member got through, so the server's host has the rules: the intruder's refusal is the rules' answer.
        Assert.Equal("", await ConnectAsync(platform, h2, intruder, serverAddress));
        var rules = (await platform.Lab.ExecAsync(h1, "iptables", ["-S", "BERTH-INGRESS"])).EnsureSuccess("iptables -S").StandardOutput;
        Assert.Contains($"-A BERTH-INGRESS -s {Address(client)}/32 -d {serverAddress}/32 -p tcp -m tcp --dport {Port} -j ACCEPT", rules, StringComparison.Ordinal);

        // `authorize` of the intruder's address reaches h1's agent through the scheduler: it connects.
        await platform.SecurityGroups.AuthorizeSecurityGroupIngressAsync(new AuthorizeSecurityGroupIngressRequest
        {
            Cluster = LabPlatform.Cluster,
            Group = "group-a",
            IpPermissions = { new IpPermission { IpProtocol = "tcp", FromPort = Port, ToPort = Port, IpRanges = { new IpRange { CidrIp = Address(intruder) + "/32" } } } },
        }, platform.Admin);
        await TaskTimeouts.WaitUntilAsync(async () => (reply = await ConnectAsync(platform, h2, intruder, serverAddress)).Length > 0, TimeSpan.FromSeconds(60), "the intruder to reach the server once its CIDR is authorized");
        Assert.Equal("hello-from-a", reply);
    }

    private static async Task RegisterAsync(LabPlatform platform, string family, string script)
    {
        var json = $$"""
            {"family":"{{family}}","networkMode":"awsvpc","cpu":"256","memory":"128","containerDefinitions":[
              {"name":"main","image":"{{TestImages.Busybox}}","entryPoint":["sh","-c"],"stopTimeout":2,"command":[{{System.Text.Json.JsonSerializer.Serialize(script)}}]}]}
            """;
        await platform.TaskDefinitions.RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest { TaskDefinitionJson = json }, platform.Admin);
    }

    private static async Task<string> CreateGroupAsync(LabPlatform platform, string name) =>
        (await platform.SecurityGroups.CreateSecurityGroupAsync(new CreateSecurityGroupRequest { Cluster = LabPlatform.Cluster, GroupName = name, Description = name }, platform.Admin)).GroupId;

    /// <summary>Runs one task of <paramref name="family"/> on <paramref name="host"/> in <paramref name="group"/> (none: the default group) and waits until it runs with its address.</summary>
    private static async Task<TaskInfo> RunAsync(LabPlatform platform, string family, LabHost host, string? group = null)
    {
        var request = new RunTaskRequest
        {
            Cluster = LabPlatform.Cluster,
            TaskDefinition = family,
            PlacementConstraints = { new PlacementConstraint { Type = "memberOf", Expression = $"attribute:berth.zone == {LabPlatform.ZoneOf(host)}" } },
        };
        if (group is not null)
        {
            request.NetworkConfiguration = new NetworkConfiguration { AwsvpcConfiguration = new AwsvpcNetworkConfiguration { SecurityGroups = { group } } };
        }

        var task = Assert.Single((await platform.Tasks.RunTaskAsync(request, platform.Admin)).Tasks);
        TaskInfo running = task;
        await TaskTimeouts.WaitUntilAsync(async () =>
        {
            running = (await platform.Tasks.DescribeTasksAsync(new DescribeTasksRequest { Cluster = LabPlatform.Cluster, Tasks = { task.TaskId } }, platform.Admin)).Tasks.Single();
            Assert.NotEqual(LifecycleStatus.Stopped, running.LastStatus);
            return running.LastStatus == LifecycleStatus.Running && running.Attachments.Count > 0 && running.Containers[0].RuntimeId.Length > 0;
        }, TimeSpan.FromSeconds(120), $"{family} to run on h{host.Number} with an address");
        return running;
    }

    private static string Address(TaskInfo task) => task.Attachments[0].Details.Single(d => d.Name == "privateIPv4Address").Value;

    /// <summary>What a TCP connection from inside a task's container reads (empty: no connection within 2 s).</summary>
    private static async Task<string> ConnectAsync(LabPlatform platform, LabHost host, TaskInfo from, string address) =>
        (await platform.Lab.DockerAsync(host, "exec", from.Containers[0].RuntimeId, "sh", "-c", $"nc -w 2 {address} {Port} </dev/null")).StandardOutput.Trim();
}
