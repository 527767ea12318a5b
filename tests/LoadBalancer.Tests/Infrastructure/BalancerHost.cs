using System.Net;
using System.Net.Sockets;
using Berth.LoadBalancer.Health;
using Berth.LoadBalancer.Hosting;
using Berth.LoadBalancer.Model;
using Berth.LoadBalancer.State;
using Berth.LoadBalancer.Watch;
using Berth.TestSupport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Berth.LoadBalancer.Tests.Infrastructure;

/// <summary>A real balancer (the application Program runs) hosted in the test process, on loopback.</summary>
internal sealed class BalancerHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private BalancerHost(WebApplication app, string dataDirectory)
    {
        _app = app;
        DataDirectory = dataDirectory;
    }

    public string DataDirectory { get; }

    public IServiceProvider Services => _app.Services;

    public ConfigStore Store => Services.GetRequiredService<ConfigStore>();

    public TargetHealthTable Health => Services.GetRequiredService<TargetHealthTable>();

    public HealthProber Prober => Services.GetRequiredService<HealthProber>();

    public Berth.LoadBalancer.Relay.Http1Relay Relay => Services.GetRequiredService<Berth.LoadBalancer.Relay.Http1Relay>();

    public WatchClient Watch => Services.GetRequiredService<WatchClient>();

    public Uri AdminUrl { get; private set; } = null!;

    /// <summary>Starts a balancer against <paramref name="scheduler"/>; <paramref name="time"/> replaces the clock.</summary>
    /// <remarks><paramref name="fastPath"/> sets <c>Balancer:FastPath</c> (the HTTP/1.1 relay); null leaves the default.</remarks>
    public static async Task<BalancerHost> StartAsync(Uri scheduler, string dataDirectory, ITestOutputHelper output, TimeProvider? time = null, bool? fastPath = null)
    {
        Directory.CreateDirectory(dataDirectory);
        var tokenFile = Path.Combine(dataDirectory, "..", Path.GetFileName(dataDirectory) + ".token");
        await File.WriteAllTextAsync(tokenFile, FakeScheduler.Token + "\n");
        string[] args =
        [
            "--scheduler-url", scheduler.ToString(),
            "--token-file", tokenFile,
            "--data-dir", dataDirectory,
            "--listen-address", "127.0.0.1",
            "--admin-url", "http://127.0.0.1:0",
            "--Balancer:InFlightReportInterval", "00:00:00.100",
        ];
        if (fastPath is { } on)
        {
            args = [.. args, "--Balancer:FastPath", on ? "true" : "false"];
        }

        var app = BalancerApplication.Build(
            args,
            services =>
            {
                if (time is not null)
                {
                    services.AddSingleton(time);
                }

                services.AddLogging(l => l.ClearProviders().AddProvider(new TestOutputLoggerProvider(output)));
            });
        var host = new BalancerHost(app, dataDirectory);
        await app.StartAsync().WithTimeout();
        var addresses = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses;
        host.AdminUrl = new Uri(addresses.First(a => a.StartsWith("http://127.0.0.1:", StringComparison.Ordinal)));
        return host;
    }

    /// <summary>Waits until the balancer serves configuration <paramref name="version"/> (or newer).</summary>
    public async Task WaitForVersionAsync(long version, TimeSpan? timeout = null)
    {
        var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnChanged(ModelChange change)
        {
            if (change.Current.Version >= version)
            {
                reached.TrySetResult();
            }
        }

        Store.Changed += OnChanged;
        try
        {
            if (Store.Current?.Version >= version)
            {
                return;
            }

            await reached.Task.WithTimeout(timeout ?? TimeSpan.FromSeconds(60));
        }
        finally
        {
            Store.Changed -= OnChanged;
        }
    }

    /// <summary>Waits until a listener port accepts connections (Kestrel rebinds its endpoints asynchronously).</summary>
    public static Task WaitForPortAsync(int port, bool open = true) =>
        TaskTimeouts.WaitUntilAsync(async () => await IsOpenAsync(port) == open, TimeSpan.FromSeconds(60), $"port {port} to be {(open ? "open" : "closed")}");

    public static async Task<bool> IsOpenAsync(int port)
    {
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>Waits until <paramref name="condition"/> holds over the health table (woken by its changes and by checks).</summary>
    public async Task WaitForHealthAsync(Func<TargetHealthTable, bool> condition, string what, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        while (true)
        {
            var changed = Health.Changed.Next;
            var activity = Prober.Activity.Next;
            if (condition(Health))
            {
                return;
            }

            try
            {
                await Task.WhenAny(changed, activity).WaitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"Waited in vain for {what}.");
            }
        }
    }

    public async Task StopAsync()
    {
        await _app.StopAsync(TimeSpan.FromSeconds(5));
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _app.StopAsync(TimeSpan.FromSeconds(5));
        }
        catch (ObjectDisposedException)
        {
        }

        await _app.DisposeAsync();
    }
}
