using Berth.Scheduler.Tests.Infrastructure;
using Berth.Scheduler.Tests.Services;
using Berth.Scheduler.V1;
using Berth.TestSupport;
using Grpc.Core;
using Xunit.Abstractions;

namespace Berth.Scheduler.Tests.SecurityGroups;

/// <summary>
/// Security groups over real gRPC: EC2's API and refusals, ECS's awsvpc networkConfiguration, and the groups with their
/// members' addresses reaching the agents' desired states.
/// </summary>
public sealed class SecurityGroupTests(ITestOutputHelper output) : ServiceTest(output)
{
    private const string Awsvpc = """
        {"family":"api","networkMode":"awsvpc","cpu":"256","memory":"512",
         "containerDefinitions":[{"name":"app","image":"registry.local/api:1","portMappings":[{"containerPort":8080}]}]}
        """;

    private V1.SecurityGroups.SecurityGroupsClient Groups => new(Host.Channel);

    private static async Task<RpcException> RefusedAsync(Func<Task> call) => await Assert.ThrowsAsync<RpcException>(call);

    private async Task<string> CreateGroupAsync(string name) =>
        (await Groups.CreateSecurityGroupAsync(new CreateSecurityGroupRequest { GroupName = name, Description = name + " tier" }, Host.Admin)).GroupId;

    private static IpPermission Tcp(int from, int to, string? cidr = null, string? group = null)
    {
        var permission = new IpPermission { IpProtocol = "tcp", FromPort = from, ToPort = to };
        if (cidr is not null)
        {
            permission.IpRanges.Add(new IpRange { CidrIp = cidr });
        }

        if (group is not null)
        {
            permission.UserIdGroupPairs.Add(new UserIdGroupPair { GroupId = group });
        }

        return permission;
    }

    private Task<AuthorizeSecurityGroupIngressResponse> AuthorizeAsync(string group, params IpPermission[] permissions) =>
        Groups.AuthorizeSecurityGroupIngressAsync(new AuthorizeSecurityGroupIngressRequest { Group = group, IpPermissions = { permissions } }, Host.Admin).ResponseAsync;

    private Task<RevokeSecurityGroupIngressResponse> RevokeAsync(string group, params IpPermission[] permissions) =>
        Groups.RevokeSecurityGroupIngressAsync(new RevokeSecurityGroupIngressRequest { Group = group, IpPermissions = { permissions } }, Host.Admin).ResponseAsync;

    private static NetworkConfiguration InGroups(params string[] groups) =>
        new() { AwsvpcConfiguration = new AwsvpcNetworkConfiguration { SecurityGroups = { groups } } };

    [Fact]
    public async Task CreateAndDescribe_EveryClusterHasADefaultGroup_NamesAreUniqueAndChecked()
    {
        var web = await CreateGroupAsync("web");
        Assert.Matches("^sg-[0-9a-f]{17}$", web);

        var all = (await Groups.DescribeSecurityGroupsAsync(new DescribeSecurityGroupsRequest(), Host.Admin)).SecurityGroups;
        Assert.Equal(["default", "web"], all.Select(g => g.GroupName));
        var described = all.Single(g => g.GroupId == web);
        Assert.Equal(("web tier", "default"), (described.Description, described.Cluster));
        Assert.Empty(described.IpPermissions);
        Assert.Equal("0.0.0.0/0", Assert.Single(Assert.Single(described.IpPermissionsEgress).IpRanges).CidrIp);

        var duplicate = await RefusedAsync(() => CreateGroupAsync("web"));
        Assert.Equal(StatusCode.AlreadyExists, duplicate.StatusCode);
        Assert.StartsWith("InvalidGroup.Duplicate: The security group 'web' already exists", duplicate.Status.Detail, StringComparison.Ordinal);
        Assert.StartsWith("InvalidGroup.Reserved:", (await RefusedAsync(() => CreateGroupAsync("default"))).Status.Detail, StringComparison.Ordinal);
        var shaped = await RefusedAsync(() => CreateGroupAsync("sg-123"));
        Assert.Equal(StatusCode.InvalidArgument, shaped.StatusCode);
        Assert.Contains("Group names may not be in the format sg-*", shaped.Status.Detail, StringComparison.Ordinal);
        Assert.StartsWith("InvalidParameterValue:", (await RefusedAsync(() => CreateGroupAsync("naïve"))).Status.Detail, StringComparison.Ordinal);
        var missing = await RefusedAsync(() => Groups.CreateSecurityGroupAsync(new CreateSecurityGroupRequest { GroupName = "x" }, Host.Admin).ResponseAsync);
        Assert.Equal("MissingParameter: The request must contain the parameter GroupDescription.", missing.Status.Detail);

        var unknown = await RefusedAsync(() => Groups.DescribeSecurityGroupsAsync(new DescribeSecurityGroupsRequest { GroupIds = { "sg-00000000000000000" } }, Host.Admin).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("InvalidGroup.NotFound: The security group 'sg-00000000000000000' does not exist in cluster 'default'.", unknown.Status.Detail);
        var byName = Assert.Single((await Groups.DescribeSecurityGroupsAsync(new DescribeSecurityGroupsRequest { GroupNames = { "web" } }, Host.Admin)).SecurityGroups);
        Assert.Equal(web, byName.GroupId);
    }

    [Fact]
    public async Task AuthorizeAndRevoke_CheckEveryRuleInEc2sWords_AndGroupRulesAsEc2Shows()
    {
        var web = await CreateGroupAsync("web");
        var clients = await CreateGroupAsync("clients");

        var group = (await AuthorizeAsync("web", Tcp(8080, 8080, cidr: "10.9.8.7/16"), Tcp(8080, 8080, group: clients), new IpPermission { IpProtocol = "icmp", IpRanges = { new IpRange { CidrIp = "0.0.0.0/0" } } })).SecurityGroup;
        Assert.Equal(web, group.GroupId);
        var tcp = group.IpPermissions[0];
        Assert.Equal(("tcp", 8080, 8080), (tcp.IpProtocol, tcp.FromPort, tcp.ToPort));
        Assert.Equal("10.9.0.0/16", Assert.Single(tcp.IpRanges).CidrIp);                      // stored as its network
        Assert.Equal(clients, Assert.Single(tcp.UserIdGroupPairs).GroupId);
        Assert.Equal(("icmp", -1, -1), (group.IpPermissions[1].IpProtocol, group.IpPermissions[1].FromPort, group.IpPermissions[1].ToPort));

        async Task<RpcException> Refused(params IpPermission[] permissions) => await RefusedAsync(() => AuthorizeAsync("web", permissions));
        var duplicate = await Refused(Tcp(8080, 8080, cidr: "10.9.0.0/16"));
        Assert.Equal(StatusCode.AlreadyExists, duplicate.StatusCode);
        Assert.Equal("InvalidPermission.Duplicate: the specified rule \"peer: 10.9.0.0/16, TCP, from port: 8080, to port: 8080, ALLOW\" already exists.", duplicate.Status.Detail);
        Assert.Equal("InvalidParameterValue: CIDR block 10.0.0/8 is malformed (an IPv4 CIDR: a.b.c.d/n).", (await Refused(Tcp(80, 80, cidr: "10.0.0/8"))).Status.Detail);
        Assert.StartsWith("InvalidParameterValue: Invalid value 'gre' for IP protocol.", (await Refused(new IpPermission { IpProtocol = "gre", IpRanges = { new IpRange { CidrIp = "10.0.0.0/8" } } })).Status.Detail, StringComparison.Ordinal);
        Assert.StartsWith("InvalidParameterValue: Invalid value '90-80' for portRange", (await Refused(Tcp(90, 80, cidr: "10.0.0.0/8"))).Status.Detail, StringComparison.Ordinal);
        Assert.StartsWith("InvalidParameterValue: Invalid value '1-70000' for portRange", (await Refused(Tcp(1, 70000, cidr: "10.0.0.0/8"))).Status.Detail, StringComparison.Ordinal);
        Assert.Contains("Must specify both from and to ports with TCP/UDP", (await Refused(new IpPermission { IpProtocol = "udp", IpRanges = { new IpRange { CidrIp = "10.0.0.0/8" } } })).Status.Detail, StringComparison.Ordinal);
        Assert.Contains("Berth filters ICMP as a whole", (await Refused(new IpPermission { IpProtocol = "icmp", FromPort = 8, ToPort = -1, IpRanges = { new IpRange { CidrIp = "10.0.0.0/8" } } })).Status.Detail, StringComparison.Ordinal);
        Assert.Contains("names no source", (await Refused(new IpPermission { IpProtocol = "tcp", FromPort = 1, ToPort = 2 })).Status.Detail, StringComparison.Ordinal);
        var unknownSource = await Refused(Tcp(80, 80, group: "sg-0123456789abcdef0"));
        Assert.Equal((StatusCode.NotFound, "InvalidGroup.NotFound: The security group 'sg-0123456789abcdef0' does not exist in cluster 'default'."), (unknownSource.StatusCode, unknownSource.Status.Detail));
        Assert.StartsWith("InvalidGroup.NotFound:", (await RefusedAsync(() => AuthorizeAsync("nothing", Tcp(1, 1, cidr: "10.0.0.0/8")))).Status.Detail, StringComparison.Ordinal);

        // A refused call changed nothing; a revoke takes exactly the rules it names.
        var after = (await RevokeAsync(web, Tcp(8080, 8080, cidr: "10.9.0.0/16"))).SecurityGroup;
        Assert.Equal(clients, Assert.Single(Assert.Single(after.IpPermissions, p => p.IpProtocol == "tcp").UserIdGroupPairs).GroupId);
        Assert.Empty(after.IpPermissions.Single(p => p.IpProtocol == "tcp").IpRanges);
        var notFound = await RefusedAsync(() => RevokeAsync(web, Tcp(8080, 8080, cidr: "10.9.0.0/16")));
        Assert.Equal((StatusCode.NotFound, "InvalidPermission.NotFound: The specified rule does not exist in this security group: \"peer: 10.9.0.0/16, TCP, from port: 8080, to port: 8080, ALLOW\"."), (notFound.StatusCode, notFound.Status.Detail));
    }

    [Fact]
    public async Task Delete_IsRefusedWithDependencyViolation_WhileAGroupRuleATaskOrAServiceUsesIt()
    {
        await using var agent = await SimulatedAgent.RegisterAsync(Host);
        await RegisterAsync(Awsvpc);
        var web = await CreateGroupAsync("web");
        var clients = await CreateGroupAsync("clients");
        await AuthorizeAsync(web, Tcp(8080, 8080, group: clients));

        async Task<RpcException> DeleteRefused(string group) =>
            await RefusedAsync(() => Groups.DeleteSecurityGroupAsync(new DeleteSecurityGroupRequest { Group = group }, Host.Admin).ResponseAsync);
        var byRule = await DeleteRefused(clients);
        Assert.Equal(StatusCode.FailedPrecondition, byRule.StatusCode);
        Assert.Equal($"DependencyViolation: resource {clients} has a dependent object (a rule of {web} (web) names it as its source).", byRule.Status.Detail);
        await RevokeAsync(web, Tcp(8080, 8080, group: clients));

        var run = await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "api", NetworkConfiguration = InGroups(clients) }, Host.Admin);
        var task = Assert.Single(run.Tasks);
        Assert.Equal([clients], task.NetworkConfiguration.AwsvpcConfiguration.SecurityGroups);
        Assert.Equal($"DependencyViolation: resource {clients} has a dependent object (task {task.TaskId} uses it).", (await DeleteRefused(clients)).Status.Detail);

        await CreateAsync(new CreateServiceRequest { ServiceName = "api", TaskDefinition = "api", DesiredCount = 0, NetworkConfiguration = InGroups(web) });
        Assert.Equal($"DependencyViolation: resource {web} has a dependent object (service api names it).", (await DeleteRefused("web")).Status.Detail);
        var defaultId = (await Groups.DescribeSecurityGroupsAsync(new DescribeSecurityGroupsRequest { GroupNames = { "default" } }, Host.Admin)).SecurityGroups[0].GroupId;
        Assert.StartsWith("CannotDelete:", (await DeleteRefused(defaultId)).Status.Detail, StringComparison.Ordinal);

        // Once the task stopped and the service moved to the default group, both go.
        await Host.Tasks.StopTaskAsync(new StopTaskRequest { Task = task.TaskId }, Host.Admin);
        await agent.ReportAndWaitAsync(task.TaskId, LifecycleStatus.Stopped);
        await UpdateAsync(new UpdateServiceRequest { Service = "api", NetworkConfiguration = InGroups() });
        Assert.Equal(clients, (await Groups.DeleteSecurityGroupAsync(new DeleteSecurityGroupRequest { Group = clients }, Host.Admin)).GroupId);
        Assert.Equal(web, (await Groups.DeleteSecurityGroupAsync(new DeleteSecurityGroupRequest { Group = "web" }, Host.Admin)).GroupId);
        Assert.Equal(["default"], (await Groups.DescribeSecurityGroupsAsync(new DescribeSecurityGroupsRequest(), Host.Admin)).SecurityGroups.Select(g => g.GroupName));
    }

    [Fact]
    public async Task RunTaskAndServices_RefuseUnknownGroupsInEcsWords_AndAwsvpcTasksWithoutGroupsJoinTheDefault()
    {
        await using var agent = await SimulatedAgent.RegisterAsync(Host);
        await RegisterAsync(Awsvpc);
        await RegisterAsync(TaskDefinitionSamples.Web(family: "bridge"));
        var web = await CreateGroupAsync("web");

        var unknown = await RefusedAsync(() => Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "api", NetworkConfiguration = InGroups(web, "sg-0badbadbadbadbad0") }, Host.Admin).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, unknown.StatusCode);
        Assert.Equal("Error retrieving security group information for [sg-0badbadbadbadbad0]: The security group 'sg-0badbadbadbadbad0' does not exist in cluster 'default' (ErrorCode: InvalidGroup.NotFound)", unknown.Status.Detail);
        var service = await RefusedAsync(() => CreateAsync(new CreateServiceRequest { ServiceName = "s", TaskDefinition = "api", NetworkConfiguration = InGroups("sg-0badbadbadbadbad0") }));
        Assert.Contains("(ErrorCode: InvalidGroup.NotFound)", service.Status.Detail, StringComparison.Ordinal);
        var bridge = await RefusedAsync(() => Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "bridge", NetworkConfiguration = InGroups(web) }, Host.Admin).ResponseAsync);
        Assert.StartsWith("Network Configuration is not valid for the given networkMode of this task definition", bridge.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("at most 5 security groups", (await RefusedAsync(() => Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "api", NetworkConfiguration = InGroups("sg-1", "sg-2", "sg-3", "sg-4", "sg-5", "sg-6") }, Host.Admin).ResponseAsync)).Status.Detail, StringComparison.Ordinal);
        Assert.Empty((await Host.Tasks.ListTasksAsync(new ListTasksRequest(), Host.Admin)).TaskArns);

        var defaultId = (await Groups.DescribeSecurityGroupsAsync(new DescribeSecurityGroupsRequest { GroupNames = { "default" } }, Host.Admin)).SecurityGroups[0].GroupId;
        var plain = Assert.Single((await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "api" }, Host.Admin)).Tasks);
        Assert.Equal([defaultId], plain.NetworkConfiguration.AwsvpcConfiguration.SecurityGroups);
        var desired = await agent.WaitForDesiredAsync(d => d.Tasks.Any(t => t.TaskId == plain.TaskId), "the task sent");
        Assert.Equal([defaultId], desired.Tasks.Single(t => t.TaskId == plain.TaskId).AwsvpcConfiguration.SecurityGroups);

        // A service's tasks join its groups; an update to other groups starts a deployment whose tasks join those.
        var created = await CreateAsync(new CreateServiceRequest { ServiceName = "svc", TaskDefinition = "api", DesiredCount = 1, NetworkConfiguration = InGroups(web) });
        Assert.Equal([web], created.NetworkConfiguration.AwsvpcConfiguration.SecurityGroups);
        await TaskTimeouts.WaitUntilAsync(async () => (await TasksAsync("svc")).Count == 1, what: "the service's task");
        Assert.Equal([web], (await TasksAsync("svc"))[0].NetworkConfiguration.AwsvpcConfiguration.SecurityGroups);
        var updated = await UpdateAsync(new UpdateServiceRequest { Service = "svc", NetworkConfiguration = InGroups() });
        Assert.Null(updated.NetworkConfiguration);
        Assert.Equal(2, updated.Deployments.Count);
    }

    [Fact]
    public async Task HostsGetTheirTasksGroupsAndSourceGroups_WithMembersClusterWide_AndFollowRuleAndMemberChanges()
    {
        await using var first = await SimulatedAgent.RegisterAsync(Host);
        await using var second = await SimulatedAgent.RegisterAsync(Host);
        await RegisterAsync(Awsvpc);
        var web = await CreateGroupAsync("web");
        var clients = await CreateGroupAsync("clients");
        var other = await CreateGroupAsync("other");
        await AuthorizeAsync(web, Tcp(8080, 8080, group: clients));

        // One task per host: placement spreads, so ask each host by constraint.
        async Task<TaskInfo> RunOnAsync(SimulatedAgent agent, string group, string address)
        {
            var task = Assert.Single((await Host.Tasks.RunTaskAsync(new RunTaskRequest
            {
                TaskDefinition = "api",
                NetworkConfiguration = InGroups(group),
                PlacementConstraints = { new PlacementConstraint { Type = "memberOf", Expression = $"ec2InstanceId == {agent.InstanceId}" } },
            }, Host.Admin)).Tasks);
            await agent.WaitForDesiredAsync(d => d.Tasks.Any(t => t.TaskId == task.TaskId), "the task sent");
            await agent.ReportAndWaitAsync(task.TaskId, LifecycleStatus.Running, r => r.NetworkAttachment = new TaskNetworkAttachment { Ipv4Address = address });
            return task;
        }

        await RunOnAsync(first, web, "10.240.1.10");
        var client = await RunOnAsync(second, clients, "10.240.2.10");
        await RunOnAsync(second, other, "10.240.2.11");

        // The server's host: its task's group and the group its rule names, each with its members; not "other".
        var desired = await first.WaitForDesiredAsync(d => d.SecurityGroups.Any(g => g.GroupId == clients && g.MemberAddresses.Count == 1) && d.SecurityGroups.Any(g => g.GroupId == web && g.MemberAddresses.Count == 1), "web and its source group");
        Assert.Equal(new[] { web, clients }.Order(StringComparer.Ordinal), desired.SecurityGroups.Select(g => g.GroupId));
        var sent = desired.SecurityGroups.Single(g => g.GroupId == web);
        Assert.Equal(("web", "10.240.1.10"), (sent.GroupName, Assert.Single(sent.MemberAddresses)));
        var rule = Assert.Single(sent.Ingress);
        Assert.Equal(("tcp", 8080, 8080, clients, ""), (rule.IpProtocol, rule.FromPort, rule.ToPort, rule.SourceGroupId, rule.CidrIpv4));
        Assert.Equal("10.240.2.10", Assert.Single(desired.SecurityGroups.Single(g => g.GroupId == clients).MemberAddresses));
        var onSecond = await second.WaitForDesiredAsync(d => d.SecurityGroups.Any(g => g.GroupId == other && g.MemberAddresses.Count == 1), "other's member");
        Assert.DoesNotContain(onSecond.SecurityGroups, g => g.GroupId == web);

        // A rule authorized reaches the session with a newer desired state.
        await AuthorizeAsync(web, Tcp(9000, 9100, cidr: "10.240.2.0/24"));
        var withRule = await first.WaitForDesiredAsync(d => d.Version > desired.Version && d.SecurityGroups.Single(g => g.GroupId == web).Ingress.Count == 2, "the new rule");
        Assert.Contains(withRule.SecurityGroups.Single(g => g.GroupId == web).Ingress, r => r is { CidrIpv4: "10.240.2.0/24", FromPort: 9000, ToPort: 9100 });

        // A member stopping on another host leaves its group's members on this one.
        await Host.Tasks.StopTaskAsync(new StopTaskRequest { Task = client.TaskId }, Host.Admin);
        await second.ReportAndWaitAsync(client.TaskId, LifecycleStatus.Stopped, r => r.NetworkAttachment = new TaskNetworkAttachment { Ipv4Address = "10.240.2.10", Released = true });
        await first.WaitForDesiredAsync(d => d.Version > withRule.Version && d.SecurityGroups.Single(g => g.GroupId == clients).MemberAddresses.Count == 0, "the stopped client's address gone");
    }

    [Fact]
    public async Task GroupsAndTasksGroups_SurviveARestart()
    {
        await RegisterAsync(Awsvpc);
        var web = await CreateGroupAsync("web");
        await AuthorizeAsync(web, Tcp(443, 443, cidr: "0.0.0.0/0"), new IpPermission { IpProtocol = "-1", UserIdGroupPairs = { new UserIdGroupPair { GroupId = web, Description = "itself" } } });
        await CreateAsync(new CreateServiceRequest { ServiceName = "svc", TaskDefinition = "api", DesiredCount = 0, NetworkConfiguration = InGroups(web) });
        var before = (await Groups.DescribeSecurityGroupsAsync(new DescribeSecurityGroupsRequest(), Host.Admin)).SecurityGroups;

        await RestartAsync();

        var after = (await Groups.DescribeSecurityGroupsAsync(new DescribeSecurityGroupsRequest(), Host.Admin)).SecurityGroups;
        Assert.Equal(before, after);
        Assert.Equal("itself", after.Single(g => g.GroupId == web).IpPermissions.Single(p => p.IpProtocol == "-1").UserIdGroupPairs[0].Description);
        Assert.Equal([web], (await DescribeAsync("svc")).NetworkConfiguration.AwsvpcConfiguration.SecurityGroups);
    }
}
