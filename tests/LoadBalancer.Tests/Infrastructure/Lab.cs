using Berth.Scheduler.V1;
using Xunit.Abstractions;

namespace Berth.LoadBalancer.Tests.Infrastructure;

/// <summary>One test's world: a fake scheduler, a balancer watching it, a temp directory; all removed at the end.</summary>
internal sealed class Lab : IAsyncDisposable
{
    private readonly List<IAsyncDisposable> _owned = [];
    private bool? _fastPath;

    private Lab(ITestOutputHelper output, string root, FakeScheduler scheduler)
    {
        Output = output;
        Root = root;
        Scheduler = scheduler;
    }

    public ITestOutputHelper Output { get; }

    public string Root { get; }

    public FakeScheduler Scheduler { get; }

    public BalancerHost Balancer { get; private set; } = null!;

    public string DataDirectory => Path.Combine(Root, "balancer");

    /// <summary>Starts the scheduler with <paramref name="snapshot"/> and a balancer, and waits until it serves it.</summary>
    public static async Task<Lab> StartAsync(ITestOutputHelper output, ConfigSnapshot snapshot, TimeProvider? time = null, bool? fastPath = null)
    {
        var root = Path.Combine(Path.GetTempPath(), "berth-lb-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(root);
        var scheduler = new FakeScheduler(snapshot);
        await scheduler.StartAsync();
        var lab = new Lab(output, root, scheduler);
        lab._fastPath = fastPath;
        await lab.StartBalancerAsync(time);
        await lab.Balancer.WaitForVersionAsync(snapshot.Version);
        foreach (var listener in snapshot.Config.Listeners)
        {
            await BalancerHost.WaitForPortAsync(listener.Port);
        }

        return lab;
    }

    public async Task StartBalancerAsync(TimeProvider? time = null) =>
        Balancer = await BalancerHost.StartAsync(Scheduler.Url, DataDirectory, Output, time, _fastPath);

    public async Task<TargetServer> TargetAsync(string name, bool http2Only = false)
    {
        var target = await TargetServer.StartAsync(name, http2Only);
        _owned.Add(target);
        return target;
    }

    /// <summary>A client of one listener; no connection reuse across tests.</summary>
    public static HttpClient Client(int port) => new(new SocketsHttpHandler { UseCookies = false, AllowAutoRedirect = false }) { BaseAddress = new Uri($"http://127.0.0.1:{port}") };

    public async ValueTask DisposeAsync()
    {
        if (Balancer is not null)
        {
            await Balancer.DisposeAsync();
        }

        await Scheduler.DisposeAsync();
        foreach (var owned in _owned)
        {
            await owned.DisposeAsync();
        }

        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
