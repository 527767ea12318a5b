using System.Net;
using System.Net.Sockets;
using Berth.Scheduler.V1;
using Berth.TestSupport;
using Xunit.Abstractions;

namespace Berth.Agent.Tests.Lab;

/// <summary>
/// A service behind the real balancer on real lab hosts (issue 16): the scheduler, three agents with their own
/// engines, one balancer process, and a steady client load through the balancer's listener while the service
/// changes. Every request is counted; none may fail.
/// </summary>
[Collection(EngineCollection.Name)]
[Trait("Category", "System")]
public sealed class LoadBalancerLabTests : IClassFixture<ServiceLab>, IDisposable
{
    private readonly ServiceLab _fixture;
    private readonly LabPlatform _lab;
    private readonly ITestOutputHelper _output;

    public LoadBalancerLabTests(ServiceLab fixture, ITestOutputHelper output)
    {
        _fixture = fixture;
        _lab = fixture.Platform;
        _output = output;
        fixture.Output = output;
    }

    public void Dispose() => _fixture.Output = null;

    [Fact]
    public async Task RollingDeploymentAndScaleIn_ThroughTheBalancer_FailNoRequest()
    {
        var port = _lab.FreeRootPort();
        var suffix = Guid.NewGuid().ToString("N")[..6];
        var lbName = "lab-" + suffix;
        var groupName = "web-" + suffix;
        var lb = (await _lab.LoadBalancing.CreateLoadBalancerAsync(new CreateLoadBalancerRequest { Name = lbName, Cluster = LabPlatform.Cluster }, _lab.Admin)).LoadBalancer;
        var group = (await _lab.LoadBalancing.CreateTargetGroupAsync(new CreateTargetGroupRequest
        {
            Name = groupName,
            Port = 8080,
            Cluster = LabPlatform.Cluster,
            HealthCheck = new HealthCheck { IntervalSeconds = 5, TimeoutSeconds = 2, HealthyThresholdCount = 2, UnhealthyThresholdCount = 2 },
            Attributes = new TargetGroupAttributes { DeregistrationDelaySeconds = 30 },
        }, _lab.Admin)).TargetGroup;
        await _lab.LoadBalancing.CreateListenerAsync(new CreateListenerRequest
        {
            LoadBalancerArn = lb.LoadBalancerArn,
            Port = port,
            Protocol = ListenerProtocol.Http,
            DefaultActions = { new RuleAction { Forward = new ForwardActionConfig { TargetGroups = { new TargetGroupTuple { TargetGroupArn = group.TargetGroupArn } } } } },
        }, _lab.Admin);
        var service = "lb-" + suffix;
        var v1 = await _lab.RegisterHttpAsync("lbweb", 1);
        var v2 = await _lab.RegisterHttpAsync("lbweb", 2);
        await using var balancer = await _lab.StartBalancerAsync(lb.LoadBalancerArn, FreeLoopbackPort());
        try
        {
            await _lab.Services.CreateServiceAsync(new CreateServiceRequest
            {
                Cluster = LabPlatform.Cluster,
                ServiceName = service,
                TaskDefinition = v1,
                DesiredCount = 3,
                PlacementStrategy = { new PlacementStrategy { Type = "spread", Field = "attribute:berth.zone" } },
                LoadBalancers = { new ServiceLoadBalancer { TargetGroupArn = group.TargetGroupArn, ContainerName = "web", ContainerPort = 8080 } },
            }, _lab.Admin);
            await _lab.WaitForSteadyAsync(service, 3, TimeSpan.FromMinutes(3));
            var address = $"http://{_lab.Lab.RootAddress}:{port}/";
            await TaskTimeouts.WaitUntilAsync(async () =>
            {
                using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(3) };
                try
                {
                    return (await http.GetStringAsync(address)) == "v1\n";
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    return false;
                }
            }, TimeSpan.FromSeconds(60), "the balancer to serve v1");

            await using (var load = new SteadyLoad(address, _output))
            {
                await _lab.Services.UpdateServiceAsync(new UpdateServiceRequest { Cluster = LabPlatform.Cluster, Service = service, TaskDefinition = v2 }, _lab.Admin);
                await TaskTimeouts.WaitUntilAsync(async () => (await _lab.DescribeServiceAsync(service)).Deployments[0].TaskDefinition == v2, TimeSpan.FromSeconds(10), "the deployment");
                var tasks = await _lab.WaitForSteadyAsync(service, 3, TimeSpan.FromMinutes(5));
                Assert.All(tasks, t => Assert.Equal(v2, t.TaskDefinitionArn));
                await load.WaitForAsync(s => s.Bodies.ContainsKey("v2\n"), "v2 through the balancer");

                await _lab.Services.UpdateServiceAsync(new UpdateServiceRequest { Cluster = LabPlatform.Cluster, Service = service, DesiredCount = 1 }, _lab.Admin);
                await _lab.WaitForSteadyAsync(service, 1, TimeSpan.FromMinutes(3));

                var result = await load.StopAsync();
                _output.WriteLine($"requests {result.Total} ({result.NewConnections} on new connections), failed {result.Failed}: {string.Join("; ", result.Failures.Take(5))}");
                Assert.True(result.Total > 100, $"only {result.Total} requests");
                Assert.Equal(0, result.Failed);
            }

            var events = (await _lab.DescribeServiceAsync(service)).Events.Select(e => e.Message).ToList();
            Assert.Contains(events, e => e.Contains("registered", StringComparison.Ordinal) && e.Contains(group.TargetGroupArn, StringComparison.Ordinal));
            Assert.Contains(events, e => e.Contains("has begun draining connections", StringComparison.Ordinal));
            Assert.Contains(events, e => e.Contains("deregistered", StringComparison.Ordinal));
        }
        finally
        {
            await _lab.DeleteServiceAsync(service);
            await _lab.LoadBalancing.DeleteLoadBalancerAsync(new DeleteLoadBalancerRequest { LoadBalancerArn = lb.LoadBalancerArn }, _lab.Admin);
        }
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>
    /// Idempotent GETs through the balancer without pause from four workers: two keep their connection alive, two open
    /// a new connection for every request. Every request is counted; a non-2xx answer or a connection error is a failure.
    /// </summary>
    private sealed class SteadyLoad : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task[] _workers;
        private readonly Lock _gate = new();
        private readonly ITestOutputHelper _output;
        private long _total;
        private long _newConnections;

        public SteadyLoad(string address, ITestOutputHelper output)
        {
            _output = output;
            _workers = [Worker(address, keepAlive: true), Worker(address, keepAlive: true), Worker(address, keepAlive: false), Worker(address, keepAlive: false)];
        }

        public Dictionary<string, long> Bodies { get; } = new(StringComparer.Ordinal);

        public List<string> Failures { get; } = [];

        public Task WaitForAsync(Func<SteadyLoad, bool> condition, string what) => TaskTimeouts.WaitUntilAsync(() =>
        {
            lock (_gate)
            {
                return Task.FromResult(condition(this));
            }
        }, TimeSpan.FromSeconds(60), what);

        public async Task<(long Total, long NewConnections, int Failed, List<string> Failures)> StopAsync()
        {
            await _stop.CancelAsync();
            await Task.WhenAll(_workers).WithTimeout();
            lock (_gate)
            {
                return (Interlocked.Read(ref _total), Interlocked.Read(ref _newConnections), Failures.Count, [.. Failures]);
            }
        }

        private Task Worker(string address, bool keepAlive) => Task.Run(async () =>
        {
            using var handler = new SocketsHttpHandler { PooledConnectionLifetime = keepAlive ? Timeout.InfiniteTimeSpan : TimeSpan.Zero };
            using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(10) };
            while (!_stop.IsCancellationRequested)
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, address);
                if (!keepAlive)
                {
                    request.Headers.ConnectionClose = true;
                }

                try
                {
                    using var response = await http.SendAsync(request, _stop.Token);
                    var body = await response.Content.ReadAsStringAsync(_stop.Token);
                    Interlocked.Increment(ref _total);
                    if (!keepAlive)
                    {
                        Interlocked.Increment(ref _newConnections);
                    }

                    lock (_gate)
                    {
                        if (!response.IsSuccessStatusCode)
                        {
                            Failures.Add($"{(int)response.StatusCode} {body.Trim()}");
                        }
                        else
                        {
                            Bodies[body] = Bodies.GetValueOrDefault(body) + 1;
                        }
                    }
                }
                catch (OperationCanceledException) when (_stop.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
                {
                    Interlocked.Increment(ref _total);
                    lock (_gate)
                    {
                        Failures.Add(e.GetType().Name + ": " + e.Message);
                    }
                }
            }
        });

        public async ValueTask DisposeAsync()
        {
            if (!_stop.IsCancellationRequested)
            {
                await _stop.CancelAsync();
                try
                {
                    await Task.WhenAll(_workers);
                }
                catch (Exception e)
                {
                    _output.WriteLine("load worker: " + e.Message);
                }
            }

            _stop.Dispose();
        }
    }
}
