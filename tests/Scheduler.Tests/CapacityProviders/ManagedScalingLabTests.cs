using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using Berth.Scheduler.Tests.Provisioning;
using Berth.Scheduler.V1;
using Berth.TestSupport;
using Xunit.Abstractions;

namespace Berth.Scheduler.Tests.CapacityProviders;

/// <summary>
/// Both layers of ECS scaling through real processes: the scheduler provisions lab hosts (namespace, dockerd, agent) for
/// a host group wrapped by a capacity provider, a service on it tracks 50 % average CPU, and a CPU-burning load on its
/// tasks grows the service and then the group; when the load stops both shrink, and no host that runs a task is
/// terminated. A real balancer process serves the service throughout, and no request through it fails. Every interval is
/// shortened through the scheduler's and the agents' settings.
/// </summary>
[Trait("Category", "System")]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ManagedScalingLabTests(ITestOutputHelper output)
{
    private const string Group = "burn";
    private const string Provider = "burn-cp";
    private const string Service = "burn";
    private const string Resource = "service/default/" + Service;

    [Fact]
    public async Task CpuLoad_ScalesTheServiceOut_TheGroupGrowsToASecondHost_ThenBothScaleIn_WithoutTerminatingAHostThatRunsTasks_NorFailingARequest()
    {
        var lab = await LabProvisionerFixture.StartAsync(
            output.WriteLine,
            schedulerProvisions: true,
            schedulerSettings: new Dictionary<string, string>
            {
                ["Scheduler:Scaling:Interval"] = "00:00:03",
                ["Scheduler:Scaling:SampleMaxAge"] = "00:00:06",
                ["CapacityProviders:Interval"] = "00:00:02",
                ["CapacityProviders:ScaleInAfter"] = "00:00:10",
            },
            agentSettings: new Dictionary<string, string>
            {
                ["StatsInterval"] = "00:00:02",
                // Each host offers 256 CPU units: two tasks of 128, so the third needs a second host. A task's cgroup caps
                // it at what it reserves (an eighth of a core), which keeps the burning light on this machine.
                ["ReservedCpu"] = ((Environment.ProcessorCount * 1024) - 256).ToString(CultureInfo.InvariantCulture),
            });
        var load = Directory.CreateTempSubdirectory("berth-burn-");
        var flag = Path.Combine(load.FullName, "on");
        var balancerDirectory = Directory.CreateTempSubdirectory("berth-burn-balancer-");
        using var traffic = new CancellationTokenSource();
        var requests = Task.CompletedTask;
        try
        {
            await using var registry = await DistributionRegistry.StartAsync(output.WriteLine, lab.SchedulerUrl.Host);
            await lab.HostGroups.CreateHostGroupAsync(new CreateHostGroupRequest { Name = Group, MinSize = 1, MaxSize = 2, DesiredCapacity = 1, Zones = { "a" }, InstanceType = "lab.small" }, lab.Admin);
            var first = (await WaitForGroupAsync(lab, g => g.Hosts is [{ LifecycleState: "InService" }], "the group's first host in service")).Hosts[0];
            lab.Log($"first host {first.Name} in service");

            // The image reaches the registry on the lab's root leg from the first host's engine (lab engines trust the lab's
            // addresses over plain HTTP); each host pulls it when its first task arrives.
            var image = (await registry.PushAsync(lab.DockerHostOf(first.Name), "lab/burn:1")).Reference;

            await lab.CapacityProviders.CreateCapacityProviderAsync(new CreateCapacityProviderRequest
            {
                Name = Provider,
                AutoScalingGroupProvider = new AutoScalingGroupProvider
                {
                    AutoScalingGroupArn = Group,
                    ManagedScaling = new V1.ManagedScaling { Status = "ENABLED", TargetCapacity = 100, InstanceWarmupPeriod = 0 },
                    ManagedTerminationProtection = "ENABLED",
                },
            }, lab.Admin);
            await lab.CapacityProviders.PutClusterCapacityProvidersAsync(new PutClusterCapacityProvidersRequest
            {
                CapacityProviders = { Provider },
                DefaultCapacityProviderStrategy = { new CapacityProviderStrategyItem { CapacityProvider = Provider, Weight = 1 } },
            }, lab.Admin);

            // A load balancer with one listener on the lab's root leg forwarding to the service's target group, served by a
            // real balancer process.
            await using var balancer = await LabBalancer.StartAsync(lab, Group, balancerDirectory.FullName, output.WriteLine);
            var targetGroup = balancer.TargetGroupArn;

            // Serves "ok" on 8080, and burns CPU while the flag file exists on the machine (every lab host shares the root's
            // file system), idling otherwise.
            var definition = $$$"""
                {"family":"burn","containerDefinitions":[{"name":"burn","image":"{{{image}}}","memory":32,"cpu":128,"essential":true,"stopTimeout":2,
                  "portMappings":[{"containerPort":8080}],"entryPoint":["sh","-c"],
                  "command":["trap 'exit 0' TERM; mkdir -p /tmp/www && echo ok >/tmp/www/index.html && httpd -f -p 8080 -h /tmp/www & while true; do while [ -e /load/on ]; do :; done; sleep 1; done & wait"],
                  "mountPoints":[{"sourceVolume":"load","containerPath":"/load","readOnly":true}]}],
                 "volumes":[{"name":"load","host":{"sourcePath":"{{{load.FullName}}}"}}]}
                """;
            await lab.TaskDefinitions.RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest { TaskDefinitionJson = definition }, lab.Admin);
            await lab.Services.CreateServiceAsync(new CreateServiceRequest
            {
                ServiceName = Service,
                TaskDefinition = "burn",
                DesiredCount = 1,
                PlacementStrategy = { new PlacementStrategy { Type = "binpack", Field = "cpu" } },
                LoadBalancers = { new ServiceLoadBalancer { TargetGroupArn = targetGroup, ContainerName = "burn", ContainerPort = 8080 } },
            }, lab.Admin);
            await WaitForServiceAsync(lab, s => s.RunningCount == 1, "the service's first task running");
            var address = balancer.Address;
            await TaskTimeouts.WaitUntilAsync(async () =>
            {
                using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(3) };
                try
                {
                    return await http.GetStringAsync(address) == "ok\n";
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    return false;
                }
            }, TimeSpan.FromMinutes(2), "the balancer to serve the service");
            lab.Log("the balancer serves the service");

            // From here to the end every request goes through the balancer, ten a second; none may fail.
            var served = 0;
            var failed = new ConcurrentQueue<string>();
            requests = SendRequestsAsync(address, () => Interlocked.Increment(ref served), failed.Enqueue, traffic.Token);

            var scaling = lab.AutoScaling;
            await scaling.RegisterScalableTargetAsync(new RegisterScalableTargetRequest { ResourceId = Resource, MinCapacity = 1, MaxCapacity = 3 }, lab.Admin);
            await scaling.PutScalingPolicyAsync(new PutScalingPolicyRequest
            {
                PolicyName = "cpu50",
                ResourceId = Resource,
                PolicyType = "TargetTrackingScaling",
                TargetTrackingScalingPolicyConfiguration = new TargetTrackingConfiguration
                {
                    TargetValue = 50,
                    PredefinedMetricType = "ECSServiceAverageCPUUtilization",
                    ScaleOutCooldown = 0,
                    ScaleInCooldown = 0,
                },
            }, lab.Admin);

            // Load on: the service scales out to its maximum; the third task finds no room on the first host, waits in
            // PROVISIONING, and managed scaling grows the group.
            await File.WriteAllTextAsync(flag, "1");
            lab.Log("load on");
            await WaitForServiceAsync(lab, s => s.DesiredCount == 3, "the service scaled out to 3");
            lab.Log("service desired 3");
            var grown = await WaitForGroupAsync(lab, g => g.DesiredCapacity == 2 && g.Hosts.Count == 2 && g.Hosts.All(h => h.LifecycleState == "InService"), "the group grown to two hosts in service");
            lab.Log("group at two hosts");
            var running = await WaitForTasksAsync(lab, ts => ts.Count == 3 && ts.All(t => t.LastStatus == LifecycleStatus.Running), "three tasks running");
            lab.Log("three tasks running");
            Assert.Equal(2, running.Select(t => t.ContainerInstanceArn).Distinct().Count());
            Assert.All(running, t => Assert.Equal(Provider, t.CapacityProviderName));
            Assert.Equal(grown.Hosts.Select(h => h.ContainerInstanceArn).Order(), running.Select(t => t.ContainerInstanceArn).Distinct().Order());
            var growth = (await ActivitiesAsync(lab)).Single(a => a.Description == $"Launching a new host: {grown.Hosts.Single(h => h.Name != first.Name).Name}");
            Assert.Contains($"triggered policy ECSManagedAutoScalingPolicy-{Provider}", growth.Cause, StringComparison.Ordinal);
            Assert.Contains("tasks in PROVISIONING) changing the desired capacity from 1 to 2.", growth.Cause, StringComparison.Ordinal);
            var outs = (await scaling.DescribeScalingActivitiesAsync(new DescribeScalingActivitiesRequest { ResourceId = Resource }, lab.Admin)).ScalingActivities;
            Assert.All(outs, a => Assert.StartsWith("monitor alarm TargetTracking-cpu50-AlarmHigh", a.Cause, StringComparison.Ordinal));

            // Load off: the service goes back to its minimum, then the host left without tasks goes.
            File.Delete(flag);
            lab.Log("load off");
            await WaitForServiceAsync(lab, s => s.DesiredCount == 1 && s.RunningCount == 1, "the service scaled in to 1");
            var survivor = (await WaitForTasksAsync(lab, ts => ts.Count == 1, "one task left")).Single();
            lab.Log($"service at 1 ({survivor.TaskId} on {survivor.ContainerInstanceArn})");
            var shrunk = await WaitForGroupAsync(lab, g => g.DesiredCapacity == 1 && g.Hosts.Count == 1, "the group shrunk to one host");
            lab.Log("group at one host");

            // The host kept is the one running the task, which ran through it all; the host terminated had no task (managed
            // termination protection), so it was not drained either; every stopped task was the service's scale-in.
            Assert.Equal(survivor.ContainerInstanceArn, shrunk.Hosts.Single().ContainerInstanceArn);
            var after = (await WaitForTasksAsync(lab, ts => ts.Count == 1, "one task left")).Single();
            Assert.Equal((survivor.TaskArn, LifecycleStatus.Running), (after.TaskArn, after.LastStatus));
            var gone = grown.Hosts.Single(h => h.ContainerInstanceArn != survivor.ContainerInstanceArn);
            var activities = await ActivitiesAsync(lab);
            var termination = activities.Single(a => a.Description.EndsWith($"host: {gone.Name}", StringComparison.Ordinal) && a.Description != $"Launching a new host: {gone.Name}");
            Assert.Equal(($"Terminating host: {gone.Name}", "Successful"), (termination.Description, termination.StatusCode));
            Assert.Contains($"TargetTracking-{Provider}-AlarmLow", termination.Cause, StringComparison.Ordinal);
            Assert.DoesNotContain(activities, a => a.Description.StartsWith("Draining", StringComparison.Ordinal));
            var stopped = await lab.ServiceTasksAsync(Service, LifecycleStatus.Stopped);
            Assert.Equal(2, stopped.Count);
            Assert.All(stopped, t => Assert.StartsWith("Scaling activity initiated by", t.StoppedReason, StringComparison.Ordinal));
            Assert.Equal([shrunk.Hosts.Single().Name], (await lab.Provisioner().ListAsync(CancellationToken.None).WithTimeout()).Select(h => h.Name));

            await traffic.CancelAsync();
            await requests.WithTimeout();
            lab.Log($"{served} requests served through the balancer, {failed.Count} failed");
            Assert.Empty(failed);
            Assert.True(served > 100, $"only {served} requests were sent");
            lab.Log("done");
        }
        finally
        {
            await traffic.CancelAsync();
            await requests;
            // The lab goes first: its tasks mount the load directory.
            File.Delete(flag);
            await lab.DisposeAsync();
            load.Delete(recursive: true);
            balancerDirectory.Delete(recursive: true);
        }
    }

    /// <summary>GETs <paramref name="address"/> ten times a second until cancelled; anything but 200 "ok" is a failure.</summary>
    private static async Task SendRequestsAsync(string address, Action served, Action<string> failed, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        using var pace = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        try
        {
            while (await pace.WaitForNextTickAsync(cancellationToken))
            {
                try
                {
                    using var response = await http.GetAsync(address, cancellationToken);
                    var body = await response.Content.ReadAsStringAsync(cancellationToken);
                    if (response.StatusCode == HttpStatusCode.OK && body == "ok\n")
                    {
                        served();
                    }
                    else
                    {
                        failed($"{(int)response.StatusCode} {body}");
                    }
                }
                catch (HttpRequestException e)
                {
                    failed(e.Message);
                }
                catch (TaskCanceledException e) when (!cancellationToken.IsCancellationRequested)
                {
                    failed("timed out: " + e.Message);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The test is over.
        }
    }

    private static Task<HostGroup> WaitForGroupAsync(LabProvisionerFixture lab, Func<HostGroup, bool> condition, string what) =>
        lab.WaitForHostGroupAsync(Group, condition, TimeSpan.FromMinutes(4), what);

    private static async Task<ServiceInfo> WaitForServiceAsync(LabProvisionerFixture lab, Func<ServiceInfo, bool> condition, string what)
    {
        ServiceInfo service = null!;
        await TaskTimeouts.WaitUntilAsync(async () =>
        {
            service = (await lab.Services.DescribeServicesAsync(new DescribeServicesRequest { Services = { Service } }, lab.Admin)).Services.Single();
            return condition(service);
        }, TimeSpan.FromMinutes(3), what);
        return service;
    }

    private static Task<List<TaskInfo>> WaitForTasksAsync(LabProvisionerFixture lab, Func<List<TaskInfo>, bool> condition, string what) =>
        lab.WaitForServiceTasksAsync(Service, condition, TimeSpan.FromMinutes(4), what);

    private static async Task<List<HostGroupActivity>> ActivitiesAsync(LabProvisionerFixture lab) =>
        [.. (await lab.HostGroups.DescribeHostGroupActivitiesAsync(new DescribeHostGroupActivitiesRequest { Name = Group }, lab.Admin)).Activities];
}
