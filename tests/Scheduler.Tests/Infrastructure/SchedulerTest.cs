using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Berth.Scheduler.Tests.Infrastructure;

/// <summary>A test class with its own scheduler host on a fresh data dir.</summary>
public abstract class SchedulerTest(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly TempDirectory _data = new();
    private SchedulerHost? _host;

    private protected ITestOutputHelper Output { get; } = output;

    private protected SchedulerHost Host => _host ?? throw new InvalidOperationException("Not started.");

    private protected string DataDirectory => _data.Path;

    /// <summary>Settings for the host, e.g. a short heartbeat interval.</summary>
    private protected virtual IDictionary<string, string?>? Settings => null;

    /// <summary>The scheduler's clock; null for the system clock.</summary>
    private protected virtual TimeProvider? Time => null;

    /// <summary>Adds or replaces the host's services (a fake host provisioner); null for none.</summary>
    private protected virtual Action<IServiceCollection>? Services => null;

    public virtual async Task InitializeAsync() => _host = await SchedulerHost.StartAsync(_data.Path, Output, Settings, Time, Services);

    public virtual async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }

        _data.Delete();
    }

    /// <summary>Stops the host and starts a new one on the same data dir (a restart); <paramref name="whileStopped"/> runs in between.</summary>
    private protected async Task RestartAsync(Action? whileStopped = null)
    {
        await Host.DisposeAsync();
        _host = null;
        whileStopped?.Invoke();
        _host = await SchedulerHost.StartAsync(_data.Path, Output, Settings, Time, Services);
    }
}
