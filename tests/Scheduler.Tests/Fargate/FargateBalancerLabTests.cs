using System.Globalization;
using System.Net;
using Berth.Core.Networking;
using Berth.Scheduler.Tests.Provisioning;
using Berth.Scheduler.V1;
using Berth.TestSupport;
using Xunit.Abstractions;
using static Berth.Scheduler.Tests.Fargate.FargateLab;

namespace Berth.Scheduler.Tests.Fargate;

/// <summary>
/// Issue 17's last networking gap with real parts: a FARGATE service behind an <c>ip</c> target group, served by a real
/// balancer process in this machine's root network namespace, which is not a member of the cluster (the pool's hosts are
/// lab namespaces on the lab bridge). The scheduler sends the balancer a route to each pool host's task subnet over the
/// watch stream and the balancer (root: CAP_NET_ADMIN) puts them in the kernel (protocol 202); requests through it reach
/// every task. When the service scales in and the pool retires a host, that host's route goes.
/// </summary>
[Trait("Category", "System")]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class FargateBalancerLabTests(ITestOutputHelper output)
{
    private const string Service = "api";
    private const int Requests = 60;

    [Fact]
    public async Task AFargateServiceBehindAnIpTargetGroup_IsServedByABalancerOutsideTheCluster_ThroughRoutesItProgramsAndRemoves()
    {
        var cidr = await FreeTaskCidrAsync();
        var work = Directory.CreateTempSubdirectory("berth-fargate-balancer-");
        var lab = await LabProvisionerFixture.StartAsync(output.WriteLine, schedulerProvisions: true, schedulerSettings: PoolSettings());
        LabBalancer? balancer = null;
        try
        {
            await using var registry = await DistributionRegistry.StartAsync(output.WriteLine, lab.RootAddress, loopbackToo: true);
            await TestImages.EnsureBusyboxAsync(log: output.WriteLine);
            var pushed = $"{registry.LoopbackAddress}/lab/fargate-api:1";
            (await DockerAsync("tag", TestImages.Busybox, pushed)).EnsureSuccess("docker tag");
            (await DockerAsync("push", pushed)).EnsureSuccess("docker push");
            (await DockerAsync("rmi", pushed)).EnsureSuccess("docker rmi");
            var image = $"{registry.Address}/lab/fargate-api:1";

            // A task CIDR no route of this machine touches (an agent of `berth up` here holds 10.240.0.0/24 on berth0).
            await new V1.Clusters.ClustersClient(lab.Channel).CreateClusterAsync(new CreateClusterRequest { ClusterName = "default", TaskCidr = cidr }, lab.Admin);
            // Each task answers with its own hostname; two tasks of 1024 CPU units fill a pool host (2048 here), so three need two hosts.
            var definition = $$"""
                {"family":"api","networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],"cpu":"1024","memory":"2048",
                 "containerDefinitions":[{"name":"api","image":"{{image}}","essential":true,"stopTimeout":2,
                   "portMappings":[{"containerPort":8080}],"entryPoint":["sh","-c"],
                   "command":["trap 'exit 0' TERM; mkdir -p /tmp/www && busybox hostname > /tmp/www/index.html && httpd -f -p 8080 -h /tmp/www & wait"]}]}
                """;
            await new V1.TaskDefinitions.TaskDefinitionsClient(lab.Channel).RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest { TaskDefinitionJson = definition }, lab.Admin);
            // The balancer reaches the tasks from the lab's root leg: the default group lets it in on 8080, as an ALB's
            // security group is let into an ECS service's.
            await new V1.SecurityGroups.SecurityGroupsClient(lab.Channel).AuthorizeSecurityGroupIngressAsync(new AuthorizeSecurityGroupIngressRequest
            {
                Group = "default",
                IpPermissions = { new IpPermission { IpProtocol = "tcp", FromPort = 8080, ToPort = 8080, IpRanges = { new IpRange { CidrIp = lab.RootAddress + "/32", Description = "the balancer" } } } },
            }, lab.Admin);

            var balancing = lab.LoadBalancing;
            balancer = await LabBalancer.StartAsync(lab, "api", Path.Combine(work.FullName, "balancer"), output.WriteLine, targetType: "ip",
                "--Logging:LogLevel:Berth.LoadBalancer.TaskRoutes", "Information");
            var (targetGroup, balancerData) = (balancer.TargetGroupArn, balancer.DataDirectory);

            await new V1.Services.ServicesClient(lab.Channel).CreateServiceAsync(new CreateServiceRequest
            {
                ServiceName = Service,
                TaskDefinition = "api",
                DesiredCount = 3,
                LaunchType = "FARGATE",
                LoadBalancers = { new ServiceLoadBalancer { TargetGroupArn = targetGroup, ContainerName = "api", ContainerPort = 8080 } },
                // As ECS users set it: under load a task's server can start after the first health checks, and a task
                // replaced for that would answer the count below under a new name (CI at load: 5 names, not 3).
                HealthCheckGracePeriodSeconds = 60,
            }, lab.Admin);
            var running = await WaitForTasksAsync(lab, ts => ts.Count == 3 && ts.All(t => t.LastStatus == LifecycleStatus.Running && Address(t).Length > 0), "three tasks running with addresses");
            var hosts = running.Select(t => t.ContainerInstanceArn).Distinct().ToList();
            Assert.Equal(2, hosts.Count);
            var subnetOf = new Dictionary<string, string>();
            foreach (var host in hosts)
            {
                // The host's task subnet, from its tasks' attachment (the scheduler's record of it).
                subnetOf[host] = running.First(t => t.ContainerInstanceArn == host).Attachments.SelectMany(a => a.Details).Single(d => d.Name == "taskSubnet").Value;
            }

            lab.Log($"3 tasks on 2 pool hosts: {string.Join(", ", running.Select(t => $"{Address(t)} ({subnetOf[t.ContainerInstanceArn]})"))}");

            // The balancer's routes: one per pool host, each through the host's lab address, made by the balancer (proto 202).
            await TaskTimeouts.WaitUntilAsync(async () => (await BalancerRoutesAsync()).Keys.Count(subnetOf.ContainsValue) == 2, TimeSpan.FromSeconds(60), "the balancer's routes to both hosts' task subnets");
            var routes = await BalancerRoutesAsync();
            foreach (var (host, subnet) in subnetOf)
            {
                Assert.True(IPAddress.TryParse(routes[subnet], out var via));
                Assert.True(Ipv4Cidr.Parse($"{lab.RootAddress}/24").Contains(Ipv4Cidr.Parse($"{via}/32")), $"{subnet} via {via}: not on the lab's bridge");
            }

            lab.Log($"balancer routes: {string.Join(", ", routes.Select(r => $"{r.Key} via {r.Value}"))}");

            // The balancer's own checks pass for all three first, as an ALB's targets do before they take traffic: until
            // then it may route only to some (or, failing open, to targets whose servers are not up yet).
            await TaskTimeouts.WaitUntilAsync(async () =>
            {
                var health = (await balancing.DescribeTargetHealthAsync(new DescribeTargetHealthRequest { TargetGroupArn = targetGroup }, lab.Admin)).TargetHealthDescriptions;
                return health.Count == 3 && health.All(h => h.TargetHealth.State == TargetHealthState.Healthy);
            }, TimeSpan.FromMinutes(2), "all three targets healthy in the balancer");
            lab.Log("all three targets healthy in the balancer");

            // Requests through the balancer's one address reach every task, and none fails: a target that refuses or drops
            // a connection has its GET retried on another. gVisor here drops some fresh connections unanswered (busybox
            // httpd under Debian 12's runsc, docs/benchmarks.md "gVisor: fresh connections to task servers"), and a drop
            // takes its target out until its checks pass again (2 x 5 s): requests go on until every task has answered.
            var address = balancer.Address;
            var answers = await CountAnswersAsync(address, Requests, untilNames: 3);
            lab.Log($"{answers.Values.Sum()} requests through the balancer: {string.Join(", ", answers.Select(a => $"{a.Key}: {a.Value}"))}");
            Assert.DoesNotContain(answers.Keys, a => a.StartsWith("failed: ", StringComparison.Ordinal));
            Assert.Equal(3, answers.Count);

            // Scale in to one task: one pool host is left empty, the pool retires it, and its route leaves the balancer's
            // configuration and the kernel; the other host's route stays and the last task still answers.
            await new V1.Services.ServicesClient(lab.Channel).UpdateServiceAsync(new UpdateServiceRequest { Service = Service, DesiredCount = 1 }, lab.Admin);
            var survivor = (await WaitForTasksAsync(lab, ts => ts.Count == 1, "one task left")).Single();
            var kept = subnetOf[survivor.ContainerInstanceArn];
            var gone = subnetOf.Single(s => s.Key != survivor.ContainerInstanceArn);
            await TaskTimeouts.WaitUntilAsync(async () => !(await PoolHostsAsync(lab)).Contains(gone.Key), TimeSpan.FromMinutes(3), "the empty pool host retired");
            lab.Log($"pool host of {gone.Value} retired");
            await TaskTimeouts.WaitUntilAsync(async () => !(await BalancerRoutesAsync()).ContainsKey(gone.Value), TimeSpan.FromSeconds(60), "the retired host's route removed");
            Assert.Contains(kept, (await BalancerRoutesAsync()).Keys);
            Assert.Contains($"{kept} ", await File.ReadAllTextAsync(Path.Combine(balancerData, "task-routes")));
            Assert.DoesNotContain(gone.Value, await File.ReadAllTextAsync(Path.Combine(balancerData, "task-routes")));
            answers = await CountAnswersAsync(address, 10);
            Assert.Equal(10, Assert.Single(answers).Value);
            lab.Log($"route to {gone.Value} removed, {kept} kept; the last task answers all requests");
        }
        finally
        {
            if (balancer is not null)
            {
                await balancer.DisposeAsync();
            }

            await lab.DisposeAsync();
            work.Delete(recursive: true);
        }
    }

    /// <summary>A /16 in 10.160-10.199 that no route of this machine's table overlaps.</summary>
    private static async Task<string> FreeTaskCidrAsync()
    {
        var taken = (await ProcessRunner.RunAsync("ip", ["-j", "-4", "route", "show"], TimeSpan.FromSeconds(10))).EnsureSuccess("ip route show").StandardOutput;
        var routes = ProtocolRoutes.Parse(taken).Select(r => Ipv4Cidr.TryParse(r.Destination, out var c) ? c : null).OfType<Ipv4Cidr>().ToList();
        for (var attempt = 0; attempt < 40; attempt++)
        {
            var candidate = Ipv4Cidr.Parse($"10.{Random.Shared.Next(160, 200).ToString(CultureInfo.InvariantCulture)}.0.0/16");
            if (!routes.Any(r => r.PrefixLength > 0 && r.Overlaps(candidate)))
            {
                return candidate.ToString();
            }
        }

        throw new InvalidOperationException("no free /16 in 10.160.0.0-10.199.255.255");
    }

    /// <summary>The kernel's routes of balancers (proto 202) in this namespace: subnet to via.</summary>
    private static async Task<Dictionary<string, string>> BalancerRoutesAsync()
    {
        var shown = (await ProcessRunner.RunAsync("ip", ["-j", "-4", "route", "show", "proto", "202"], TimeSpan.FromSeconds(10))).EnsureSuccess("ip route show proto 202");
        return ProtocolRoutes.ByDestination(ProtocolRoutes.Parse(shown.StandardOutput));
    }

    /// <summary>
    /// Sends <paramref name="count"/> requests, and then more (for up to two minutes) until <paramref name="untilNames"/>
    /// tasks have answered; the answers by body, failures as <c>failed: </c> and the error.
    /// </summary>
    private static async Task<Dictionary<string, int>> CountAnswersAsync(string address, int count, int untilNames = 0)
    {
        var answers = new Dictionary<string, int>();
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        for (var i = 0; i < count || (answers.Keys.Count(a => !a.StartsWith("failed: ", StringComparison.Ordinal)) < untilNames && DateTime.UtcNow < deadline); i++)
        {
            // A new connection each time, so the balancer chooses a target for each request.
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            try
            {
                var body = (await http.GetStringAsync(address)).Trim();
                answers[body] = answers.GetValueOrDefault(body) + 1;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                answers["failed: " + e.Message] = answers.GetValueOrDefault("failed: " + e.Message) + 1;
            }
        }

        return answers;
    }

    /// <summary>The ACTIVE container instances of the pool (hidden from the user's lists unless asked).</summary>
    private static async Task<List<string>> PoolHostsAsync(LabProvisionerFixture lab) =>
        [.. (await new ContainerInstances.ContainerInstancesClient(lab.Channel).ListContainerInstancesAsync(
            new ListContainerInstancesRequest { Cluster = "default", IncludeFargate = true }, lab.Admin)).ContainerInstanceArns];

    private static Task<List<TaskInfo>> WaitForTasksAsync(LabProvisionerFixture lab, Func<List<TaskInfo>, bool> condition, string what) =>
        lab.WaitForServiceTasksAsync(Service, condition, TimeSpan.FromMinutes(4), what);
}
