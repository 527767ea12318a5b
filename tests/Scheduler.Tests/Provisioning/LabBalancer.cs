using Berth.Scheduler.V1;
using Berth.TestSupport;

namespace Berth.Scheduler.Tests.Provisioning;

/// <summary>
/// The balancer the lab tests put in front of a service: a load balancer of the default cluster with one HTTP listener on
/// the lab's root leg forwarding to one target group (checks every 5 s with a 2 s timeout, healthy and unhealthy after 2,
/// a 2 s deregistration delay, so that a test sees targets change within seconds), served by a real balancer process
/// with a credential of its own. Disposing stops the process and removes the routes to awsvpc task subnets it recorded
/// as added (it leaves them when it stops, fail static).
/// </summary>
internal sealed class LabBalancer(ServiceProcess process, string targetGroupArn, string address, string dataDirectory, Action<string> log) : IAsyncDisposable
{
    public string TargetGroupArn { get; } = targetGroupArn;

    /// <summary>The listener's URL on the lab's root leg.</summary>
    public string Address { get; } = address;

    /// <summary>The balancer's data directory (its <c>task-routes</c> record).</summary>
    public string DataDirectory { get; } = dataDirectory;

    /// <summary>
    /// Creates the load balancer (and the target group, both named <paramref name="name"/>, the group of
    /// <paramref name="targetType"/>, ELB's <c>instance</c> when empty) and starts the balancer with its token and data
    /// in <paramref name="directory"/>, with <paramref name="moreArguments"/> on its command line.
    /// </summary>
    public static async Task<LabBalancer> StartAsync(LabProvisionerFixture lab, string name, string directory, Action<string> log, string targetType = "", params string[] moreArguments)
    {
        var balancing = lab.LoadBalancing;
        var loadBalancer = (await balancing.CreateLoadBalancerAsync(new CreateLoadBalancerRequest { Name = name, Cluster = "default" }, lab.Admin)).LoadBalancer.LoadBalancerArn;
        var targetGroup = (await balancing.CreateTargetGroupAsync(new CreateTargetGroupRequest
        {
            Name = name,
            Port = 8080,
            Cluster = "default",
            TargetType = targetType,
            HealthCheck = new HealthCheck { IntervalSeconds = 5, TimeoutSeconds = 2, HealthyThresholdCount = 2, UnhealthyThresholdCount = 2 },
            Attributes = new TargetGroupAttributes { DeregistrationDelaySeconds = 2 },
        }, lab.Admin)).TargetGroup.TargetGroupArn;
        var listenerPort = lab.FreeRootPort();
        await balancing.CreateListenerAsync(new CreateListenerRequest
        {
            LoadBalancerArn = loadBalancer,
            Port = listenerPort,
            Protocol = ListenerProtocol.Http,
            DefaultActions = { new RuleAction { Forward = new ForwardActionConfig { TargetGroups = { new TargetGroupTuple { TargetGroupArn = targetGroup } } } } },
        }, lab.Admin);
        Directory.CreateDirectory(directory);
        var token = Path.Combine(directory, "token");
        await File.WriteAllTextAsync(token, (await balancing.CreateBalancerCredentialAsync(new CreateBalancerCredentialRequest { LoadBalancerArn = loadBalancer }, lab.Admin)).Credential);
        var data = Path.Combine(directory, "data");
        var process = ServiceProcess.Start("balancer", LabPlatform.Binary("LoadBalancer", "Berth.LoadBalancer.dll"),
        [
            "--scheduler-url", lab.SchedulerUrl.ToString().TrimEnd('/'), "--token-file", token, "--data-dir", data,
            "--listen-address", lab.RootAddress, "--admin-url", $"http://127.0.0.1:{TestPorts.Next()}", "--Logging:LogLevel:Default", "Warning",
            .. moreArguments,
        ], log);
        return new LabBalancer(process, targetGroup, $"http://{lab.RootAddress}:{listenerPort}/", data, log);
    }

    public async ValueTask DisposeAsync()
    {
        await process.DisposeAsync();
        var record = Path.Combine(DataDirectory, "task-routes");
        if (!File.Exists(record))
        {
            return;
        }

        foreach (var line in await File.ReadAllLinesAsync(record))
        {
            if (line.Split(' ') is [var subnet, _])
            {
                var result = await ProcessRunner.RunAsync("ip", ["route", "del", subnet, "proto", "202"], TimeSpan.FromSeconds(10));
                log($"cleanup: ip route del {subnet} proto 202: {result.ExitCode}");
            }
        }
    }
}
