using System.Collections.Immutable;
using Berth.Core.Concurrency;
using Berth.Core.Networking;
using Berth.LoadBalancer.Hosting;
using Berth.LoadBalancer.Model;
using Berth.LoadBalancer.State;
using Microsoft.Extensions.Options;

namespace Berth.LoadBalancer.TaskRoutes;

/// <summary>
/// Keeps the kernel's routes to the cluster's task subnets what the configuration served says (<see cref="BalancerModel.TaskRoutes"/>),
/// when <c>Balancer:TaskRoutes</c> lets it: on every configuration that changes them and every
/// <c>Balancer:TaskRouteResyncInterval</c>. Fail static like the rest of the balancer: the routes follow the configuration
/// served, which stays when the scheduler is away, and they stay when the balancer stops.
/// </summary>
internal sealed partial class TaskRouteProgrammer : BackgroundService
{
    private readonly ConfigStore _store;
    private readonly TaskRouteTable _table;
    private readonly BalancerOptions _options;
    private readonly bool _programs;
    private readonly TimeProvider _time;
    private readonly ILogger<TaskRouteProgrammer> _logger;
    private readonly ChangeSignal _changed = new();
    private ImmutableArray<GatewayRoute> _seen = [];
    private bool _toldOperator;

    public TaskRouteProgrammer(ConfigStore store, TaskRouteTable table, NetAdminCapability capability, IOptions<BalancerOptions> options, TimeProvider time, ILogger<TaskRouteProgrammer> logger)
    {
        _store = store;
        _table = table;
        _options = options.Value;
        _programs = _options.TaskRoutes == TaskRouteMode.On || (_options.TaskRoutes == TaskRouteMode.Auto && capability.Held);
        _time = time;
        _logger = logger;
        store.Changed += OnChanged;
    }

    /// <summary>Whether this balancer puts the routes in the kernel itself.</summary>
    public bool Programs => _programs;

    /// <summary>Completed passes (tests wait on it).</summary>
    public int Passes { get; private set; }

    private void OnChanged(ModelChange change)
    {
        // Under the store's lock: no I/O, a comparison and a wake-up.
        if (!change.OnlyTargets && !change.Current.TaskRoutes.SequenceEqual(_seen))
        {
            _changed.Notify();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_options.TaskRouteResyncInterval, _time);
        var tick = timer.WaitForNextTickAsync(stoppingToken).AsTask();
        while (!stoppingToken.IsCancellationRequested)
        {
            var changed = _changed.Next;
            // Before a first configuration (none cached either) nothing is known: nothing is added or removed.
            if (_store.Current is { } model)
            {
                _seen = model.TaskRoutes;
                await PassAsync(model.TaskRoutes, stoppingToken);
            }

            Passes++;
            await Task.WhenAny(changed, tick);
            if (tick.IsCompleted)
            {
                if (!await tick)
                {
                    return;
                }

                tick = timer.WaitForNextTickAsync(stoppingToken).AsTask();
            }
        }
    }

    private async Task PassAsync(ImmutableArray<GatewayRoute> routes, CancellationToken stoppingToken)
    {
        if (!_programs)
        {
            if (routes.Length > 0 && !_toldOperator)
            {
                _toldOperator = true;
                var list = string.Join(", ", routes.Select(r => $"{r.Subnet} via {r.Via}"));
                if (_options.TaskRoutes == TaskRouteMode.Off)
                {
                    LogOperatorRoutes(_logger, list);
                }
                else
                {
                    LogNoCapability(_logger, list);
                }
            }

            return;
        }

        try
        {
            await _table.SyncAsync(routes, stoppingToken);
        }
        catch (RouteCommandException ex)
        {
            LogSyncFailed(_logger, ex.Message);
        }
        catch (IOException ex)
        {
            // The record of added routes could not be written; the next pass tries again.
            LogSyncFailed(_logger, ex.Message);
        }
    }
}
