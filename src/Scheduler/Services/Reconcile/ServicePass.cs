using Berth.Scheduler.CapacityProviders;
using Berth.Scheduler.Fargate;
using Berth.Scheduler.Kernel;
using Berth.Scheduler.LoadBalancing;
using Berth.Scheduler.Placement;
using Berth.Scheduler.SecurityGroups;
using Berth.Scheduler.Tasks;

namespace Berth.Scheduler.Services.Reconcile;

/// <summary>
/// One service's reconcile pass, inside its cluster's transaction: level-triggered and idempotent. It compares the
/// service with its tasks and starts or stops tasks within the deployment configuration, trips the circuit breaker,
/// finishes deployments and writes the events ECS writes. What it starts and stops reaches the agents once durable,
/// like any other change.
/// </summary>
internal sealed class ServicePass
{
    private readonly ClusterTransaction _tx;
    private readonly PlacementEngine _engine;
    private readonly FargatePool _pool;
    private readonly ILogger _logger;
    private readonly List<TaskRecord> _created = [];
    private readonly List<TaskRecord> _stoppedRunning = [];
    private readonly List<TaskRecord> _stoppedOther = [];
    private readonly List<TaskRecord> _draining = [];
    private bool _serviceChanged;

    private readonly ServiceThrottleOptions _throttle;

    // True until a slice finds the service not steady.
    private bool _steady = true;

    // Launches are held back this pass (the service's tasks keep failing).
    private bool _throttled;

    private ServicePass(ClusterTransaction tx, ServiceRecord service, PlacementEngine engine, FargatePool pool, TimeSpan eventRepeatInterval, ServiceThrottleOptions throttle, ILogger logger)
    {
        _tx = tx;
        Service = service;
        _engine = engine;
        _pool = pool;
        EventRepeatInterval = eventRepeatInterval;
        _throttle = throttle;
        _logger = logger;
    }

    private ServiceRecord Service { get; }

    private DateTimeOffset Now => _tx.Now;

    private TimeSpan EventRepeatInterval { get; }

    /// <summary>Reconciles one service; true when it changed anything (tasks started or stopped, the service stored).</summary>
    public static bool Run(ClusterTransaction tx, ServiceRecord service, PlacementEngine engine, FargatePool pool, TimeSpan eventRepeatInterval, ServiceThrottleOptions throttle, ILogger logger)
    {
        var pass = new ServicePass(tx, service, engine, pool, eventRepeatInterval, throttle, logger);
        pass.Reconcile();
        if (pass._serviceChanged)
        {
            tx.Save(service);
        }

        return tx.HasWrites;
    }

    private void Reconcile()
    {
        var service = Service;
        foreach (var task in service.Tasks)
        {
            if (task.LastStatus == LifecycleStatus.Unknown && task.DesiredStatus == LifecycleStatus.Running)
            {
                service.LostTaskIds.Add(task.Id);
            }
        }

        _serviceChanged |= ServiceTargets.Sync(_tx, service, _logger);
        StopUnhealthy();
        StopElbUnhealthy();
        TripCircuitBreaker();
        _serviceChanged |= ServiceThrottle.Update(service, Now, _throttle, Random.Shared, EventRepeatInterval, _logger);
        _throttled = ServiceThrottle.Holds(service, Now);

        int desired;
        if (service.IsDaemon)
        {
            desired = ReconcileDaemon();
        }
        else
        {
            desired = service.Status == Statuses.Active ? service.DesiredCount : 0;
            // A task waiting in PROVISIONING has no instance yet but is one of the service's tasks: it counts (it is
            // pending, not running, so the service is not steady) and is not placed again.
            ReconcileSlice([.. service.Tasks], desired, t => t.LastStatus == LifecycleStatus.Provisioning || InstanceIsActive(t.InstanceId), onlyInstance: null);
        }

        Finish(desired);
    }

    /// <summary>DAEMON: each ACTIVE instance that meets the constraints is a slice wanting one task; every other instance a slice wanting none.</summary>
    private int ReconcileDaemon()
    {
        var service = Service;
        var eligible = service.Status == Statuses.Active
            ? ServiceRules.DaemonInstances(_tx.Cluster, _tx.Definitions, service).Select(i => i.Id).ToHashSet(StringComparer.Ordinal)
            : [];
        var byInstance = service.Tasks.GroupBy(t => t.InstanceId, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        var primary = service.Primary.Id;
        foreach (var id in eligible.Union(byInstance.Keys).ToList())
        {
            var wanted = eligible.Contains(id);
            var tasks = byInstance.GetValueOrDefault(id) ?? [];
            // The common case, decided without the slice's bookkeeping: an instance already steady (its one healthy
            // task of the PRIMARY, or nothing where nothing is wanted). A pass over many instances is mostly these.
            if (wanted ? tasks is [{ DesiredStatus: LifecycleStatus.Running } only] && only.StartedBy == primary && Healthy(only) : tasks.Count == 0)
            {
                continue;
            }

            // An instance whose agent is away gets nothing new (the placement would only fail on AGENT every pass).
            var reachable = _tx.Cluster.Instances.TryGetValue(id, out var instance) && instance.AgentConnected;
            ReconcileSlice(tasks, wanted ? 1 : 0, _ => wanted, onlyInstance: reachable ? id : "");
        }

        return eligible.Count;
    }

    private bool InstanceIsActive(string instanceId) =>
        _tx.Cluster.Instances.TryGetValue(instanceId, out var instance) && instance.Status == InstanceStatus.Active;

    /// <summary>
    /// Brings one slice of a service's tasks (all of them for REPLICA, one instance's for DAEMON) towards
    /// <paramref name="desired"/> tasks of the PRIMARY deployment on eligible instances, within the deployment
    /// configuration: at most maximumPercent of desired placed (RUNNING, PENDING or still stopping), and a running,
    /// healthy task stopped only while at least minimumHealthyPercent stay healthy. Starts come first, so a replacement
    /// exists before what it replaces is stopped.
    /// </summary>
    /// <param name="onlyInstance">null: place anywhere; an id: place only there; empty: place nothing.</param>
    private void ReconcileSlice(List<TaskRecord> tasks, int desired, Func<TaskRecord, bool> eligible, string? onlyInstance)
    {
        var service = Service;
        var primary = service.Primary;
        var live = tasks.Where(t => t.DesiredStatus == LifecycleStatus.Running && t.LastStatus != LifecycleStatus.Unknown).ToList();
        // UNKNOWN tasks do not count: their host is lost, and what replaces them must fit under maximumPercent.
        var placed = tasks.Count(t => t.LastStatus != LifecycleStatus.Unknown);
        var primaryTasks = live.Where(t => t.StartedBy == primary.Id && eligible(t)).ToList();
        var maxPlaced = desired * service.MaximumPercent / 100;
        var minHealthy = ((desired * service.MinimumHealthyPercent) + 99) / 100;

        var missing = desired - primaryTasks.Count;
        var budget = Math.Min(missing, maxPlaced - placed);
        // A FAILED PRIMARY (circuit breaker without rollback) launches nothing more; a throttled service nothing for now.
        if (budget > 0 && primary.RolloutState != Statuses.Failed && onlyInstance != "" && !_throttled)
        {
            Place(budget, onlyInstance, primaryTasks);
        }

        var healthy = live.Count(Healthy);
        var stoppable = healthy - minHealthy;
        var failedPrimary = primary.RolloutState == Statuses.Failed;
        var unwanted = live
            .Where(t => t.StartedBy != primary.Id || !eligible(t))
            // While a failed deployment is left in place, the older tasks that still serve stay.
            .Where(t => !(failedPrimary && eligible(t) && Healthy(t)))
            .ToHashSet();
        var surplus = primaryTasks.Count - desired;
        // Which tasks go follows the placement strategy and constraints (ScaleInSelector): old deployments' tasks in
        // that order (unhealthy first), then the PRIMARY's surplus (a reconnect's duplicates first, then unhealthy).
        var retiring = unwanted.Count == 0 ? [] : ChooseToStop(live, unwanted.Contains, unwanted.Count, t => Healthy(t) ? 1 : 0);
        var primarySet = surplus <= 0 ? null : primaryTasks.ToHashSet();
        var victims = primarySet is null ? [] : ChooseSurplus(live, primaryTasks, surplus, desired);
        foreach (var task in retiring.Concat(victims))
        {
            if (Healthy(task))
            {
                if (stoppable <= 0)
                {
                    continue;
                }

                stoppable--;
            }

            var reason = !eligible(task) ? $"Container instance {task.InstanceId} is DRAINING or no longer eligible for service {service.Name}."
                : service.LostTaskIds.Contains(task.Id) || service.ReplacementTaskIds.Contains(task.Id)
                    ? $"Duplicate after its host reconnected (reconnect policy {ReconnectPolicyName(service.ReconnectPolicy)})."
                    : $"Scaling activity initiated by (deployment {primary.Id})";
            StopTask(task, reason);
        }

        // UNKNOWN tasks do not keep a service from being steady once they are replaced (the host may never return).
        var steady = primaryTasks.Count == desired && live.Count == desired && placed == desired
            && primaryTasks.TrueForAll(Healthy);
        _steady &= steady;
    }

    /// <summary>
    /// Up to <paramref name="count"/> of the live tasks that <paramref name="stoppable"/> allows, in the order they should
    /// stop: by <paramref name="rank"/>, then the service's placement strategies and constraints (<see cref="ScaleInSelector"/>).
    /// </summary>
    private List<TaskRecord> ChooseToStop(List<TaskRecord> live, Func<TaskRecord, bool> stoppable, int count, Func<TaskRecord, int> rank)
    {
        var service = Service;
        var candidates = live.Select(t => new ScaleInCandidate(t.Id, t.InstanceId, t.Reservation, rank(t), t.CreatedAt.UtcTicks, stoppable(t))).ToList();
        var chosen = ScaleInSelector.Choose(_tx.Cluster.Snapshot, candidates, new ScaleInRequest
        {
            Count = count,
            Strategies = service.Strategies,
            Constraints = ServiceRules.ConstraintsOf(_tx.Definitions, service),
        });
        return [.. chosen.Select(i => live[i])];
    }

    /// <summary>
    /// The PRIMARY's <paramref name="surplus"/> tasks to stop (a reconnect's duplicates first, then unhealthy). With a
    /// capacity provider strategy they come from the providers above their share of <paramref name="desired"/> (the
    /// split of it, base then weight; a provider the strategy no longer names first), so a shrinking service keeps its
    /// split; within a provider, as without a strategy.
    /// </summary>
    private List<TaskRecord> ChooseSurplus(List<TaskRecord> live, List<TaskRecord> primaryTasks, int surplus, int desired)
    {
        var service = Service;
        int Rank(TaskRecord t) => (ReconnectRank(service, t) * 2) + (Healthy(t) ? 1 : 0);
        var strategy = service.CapacityProviderStrategy;
        if (strategy.Count == 0)
        {
            var all = primaryTasks.ToHashSet();
            return ChooseToStop(live, all.Contains, surplus, Rank);
        }

        var share = StrategySplit.Split(strategy, desired);
        int ItemOf(TaskRecord t)
        {
            for (var i = 0; i < strategy.Count; i++)
            {
                if (strategy[i].Provider == t.CapacityProviderName)
                {
                    return i;
                }
            }

            return -1;
        }

        // Each provider's tasks beyond its share add up to at least the surplus (the shares add up to desired).
        var chosen = new List<TaskRecord>(surplus);
        foreach (var provider in primaryTasks.GroupBy(ItemOf).OrderBy(g => g.Key))
        {
            var excess = Math.Min(surplus - chosen.Count, provider.Count() - (provider.Key < 0 ? 0 : share[provider.Key]));
            if (excess > 0)
            {
                var tasks = provider.ToHashSet();
                chosen.AddRange(ChooseToStop(live, tasks.Contains, excess, Rank));
            }
        }

        return chosen;
    }

    /// <summary>Orders surplus tasks for stopping: the ones the reconnect policy gives up first.</summary>
    private static int ReconnectRank(ServiceRecord service, TaskRecord task) => service.ReconnectPolicy == ReconnectPolicy.KeepOriginal
        ? service.ReplacementTaskIds.Contains(task.Id) ? 0 : 1
        : service.LostTaskIds.Contains(task.Id) ? 0 : 1;

    private static string ReconnectPolicyName(ReconnectPolicy policy) => policy == ReconnectPolicy.KeepOriginal ? "KEEP_ORIGINAL" : "KEEP_REPLACEMENT";

    /// <param name="count">How many to place.</param>
    /// <param name="onlyInstance">DAEMON: the one instance to place on; null for anywhere.</param>
    /// <param name="running">The PRIMARY's live tasks: a capacity provider strategy's base and weights count them.</param>
    private void Place(int count, string? onlyInstance, List<TaskRecord> running)
    {
        var service = Service;
        var definition = ServiceRules.DefinitionOf(_tx.Definitions, service, service.Primary.TaskDefinitionArn);
        var cluster = _tx.Cluster;
        var snapshot = cluster.Snapshot;
        if (onlyInstance is not null)
        {
            // DAEMON: the one instance this slice is about, as a cluster of its own.
            if (snapshot.Find(onlyInstance) is not { } view)
            {
                return;
            }

            snapshot = ClusterSnapshot.Create(cluster.Name, [view]);
        }

        var request = new PlacementRequest
        {
            Task = definition.Requirements,
            Count = count,
            Group = service.Group,
            Strategies = service.Strategies,
            Constraints = ServiceRules.ConstraintsOf(_tx.Definitions, service),
        };
        // With a capacity provider strategy each provider's share goes on its own host group, and the split counts
        // what each provider already runs, so the service's tasks per provider keep following base then weight. The
        // FARGATE launch type with the pool on is the FARGATE provider's strategy; any other launch stays off the pool.
        var strategy = service.CapacityProviderStrategy.Count == 0 && service.LaunchType == "FARGATE" && _pool.Enabled && onlyInstance is null
            ? FargatePool.LaunchTypeStrategy
            : service.CapacityProviderStrategy;
        List<StrategyPlacement.Share> shares = strategy.Count == 0 || onlyInstance is not null
            ? [new("", _engine.Place(snapshot, FargatePool.OutsidePool(cluster, request)))]
            : StrategyPlacement.Place(_tx, _engine, request, strategy, _pool, StrategyPlacement.Existing(strategy, running), service.Subnets);
        var anyLost = service.Tasks.Any(t => t.LastStatus == LifecycleStatus.Unknown && t.DesiredStatus == LifecycleStatus.Running);
        foreach (var (provider, result, waiting, reason) in shares)
        {
            // No host of the provider's group had room: these wait in PROVISIONING for the group to grow (ProvisioningPass).
            for (var i = 0; i < waiting; i++)
            {
                var task = TaskLifecycle.CreateProvisioning(_tx, definition, service.Group, service.Primary.Id, service.LaunchType, clientToken: null, overrides: null, service.EnableExecuteCommand,
                    LaunchGroups.ForTask(_tx, definition, service.SecurityGroups), provider, reason, service.Subnets);
                _tx.AddTask(task, service);
                _created.Add(task);
            }

            if (waiting > 0)
            {
                _serviceChanged |= ServiceRules.AddEvent(service, $"(service {service.Name}) has {waiting} tasks waiting in PROVISIONING. {reason}", Now, EventRepeatInterval, _logger);
            }

            foreach (var placement in result.Placements)
            {
                _tx.AdoptPlacement(onlyInstance is null ? result.Snapshot : cluster.Snapshot.WithTaskStarted(placement.InstanceId, placement.Reservation));
                var task = TaskLifecycle.Create(_tx, definition, placement, service.Group, service.Primary.Id, service.LaunchType, clientToken: null, overrides: null, service.EnableExecuteCommand,
                    LaunchGroups.ForTask(_tx, definition, service.SecurityGroups), provider, service.Subnets);
                _tx.AddTask(task, service);
                if (anyLost)
                {
                    service.ReplacementTaskIds.Add(task.Id);
                }

                _created.Add(task);
            }

            if (!result.Failures.IsEmpty)
            {
                var message = ServiceEvents.UnableToPlace(service.Name, result.Failures[0], cluster.Name);
                _serviceChanged |= ServiceRules.AddEvent(service, message, Now, EventRepeatInterval, _logger);
            }
        }
    }

    /// <summary>
    /// A task is healthy when its containers are (<see cref="ServiceRules.IsHealthy"/>) and, for a service behind load
    /// balancers, its targets are healthy there too; a task whose targets drain is not.
    /// </summary>
    private bool Healthy(TaskRecord task) => ServiceRules.IsHealthy(task) && ServiceTargets.Healthy(_tx.Cluster, Service, task, Now);

    private void StopTask(TaskRecord task, string reason)
    {
        // Behind a load balancer the task's targets drain first; the drainer stops it once nothing is in flight.
        switch (ServiceTargets.DrainBeforeStop(_tx, Service, task, StopCode.ServiceSchedulerInitiated, reason))
        {
            case ServiceTargets.DrainOutcome.BeganDraining:
                _draining.Add(task);
                return;
            case ServiceTargets.DrainOutcome.AlreadyDraining:
                return;
        }

        (task.LastStatus == LifecycleStatus.Running ? _stoppedRunning : _stoppedOther).Add(task);
        TaskLifecycle.RequestStop(_tx, task, StopCode.ServiceSchedulerInitiated, reason);
    }

    /// <summary>Stops RUNNING tasks whose health check failed after the grace period; each counts as a failed task of its deployment.</summary>
    private void StopUnhealthy()
    {
        var service = Service;
        var grace = TimeSpan.FromSeconds(service.HealthCheckGracePeriodSeconds);
        foreach (var task in service.Tasks.ToList())
        {
            if (task.DesiredStatus != LifecycleStatus.Running || task.LastStatus != LifecycleStatus.Running
                || task.HealthStatus != HealthStatus.Unhealthy || !ServiceRules.HasHealthCheck(task.Definition)
                || (task.StartedAt is { } started && Now - started < grace))
            {
                continue;
            }

            StopTask(task, "Task failed container health checks");
            if (service.Deployment(task.StartedBy) is { } deployment)
            {
                deployment.FailedTasks++;
                deployment.UpdatedAt = Now;
            }

            ServiceRules.AddEvent(service, $"(service {service.Name}) (task {task.Id}) failed container health checks.", Now, TimeSpan.Zero, _logger);
            _serviceChanged = true;
        }
    }

    /// <summary>
    /// Stops RUNNING tasks whose load balancer reports their target unhealthy once the grace period has passed since
    /// they started (ECS: the grace period covers ELB health checks too); each counts as a failed task.
    /// </summary>
    private void StopElbUnhealthy()
    {
        var service = Service;
        if (service.LoadBalancers.IsEmpty)
        {
            return;
        }

        var grace = TimeSpan.FromSeconds(service.HealthCheckGracePeriodSeconds);
        foreach (var task in service.Tasks.ToList())
        {
            if (task.DesiredStatus != LifecycleStatus.Running || task.LastStatus != LifecycleStatus.Running
                || (task.StartedAt is { } started && Now - started < grace)
                || ServiceTargets.UnhealthyIn(_tx.Cluster, service, task, Now) is not { } why)
            {
                continue;
            }

            // An unhealthy target takes no requests: nothing to drain for, so it stops at once.
            (task.LastStatus == LifecycleStatus.Running ? _stoppedRunning : _stoppedOther).Add(task);
            TaskLifecycle.RequestStop(_tx, task, StopCode.ServiceSchedulerInitiated, "Task failed ELB health checks");
            if (service.Deployment(task.StartedBy) is { } deployment)
            {
                deployment.FailedTasks++;
                deployment.UpdatedAt = Now;
            }

            ServiceRules.AddEvent(service, why, Now, TimeSpan.Zero, _logger);
            ServiceRules.AddEvent(service, $"(service {service.Name}) (task {task.Id}) failed ELB health checks.", Now, TimeSpan.Zero, _logger);
            _serviceChanged = true;
        }
    }

    /// <summary>
    /// ECS's deployment circuit breaker: a PRIMARY deployment in progress whose failed tasks reach
    /// clamp(0.5 x desired, 3, 200) fails; with rollback, a new deployment of the last COMPLETED one's task definition starts.
    /// </summary>
    private void TripCircuitBreaker()
    {
        var service = Service;
        var primary = service.Primary;
        var breaker = service.DeploymentConfiguration.CircuitBreaker;
        if (breaker is not { Enable: true } || primary.RolloutState != Statuses.InProgress || service.Status != Statuses.Active)
        {
            return;
        }

        var desired = service.IsDaemon ? ServiceRules.DaemonInstances(_tx.Cluster, _tx.Definitions, service).Count : service.DesiredCount;
        var threshold = Math.Clamp((int)Math.Ceiling(0.5 * desired), 3, 200);
        if (primary.FailedTasks < threshold)
        {
            return;
        }

        primary.RolloutState = Statuses.Failed;
        primary.RolloutStateReason = "ECS deployment circuit breaker: tasks failed to start.";
        primary.UpdatedAt = Now;
        _serviceChanged = true;
        ServiceRules.AddEvent(service, $"(service {service.Name}) (deployment {primary.Id}) deployment failed: tasks failed to start.", Now, TimeSpan.Zero, _logger);
        if (!breaker.Rollback)
        {
            return;
        }

        var target = service.Deployments.Skip(1).FirstOrDefault(d => d.RolloutState == Statuses.Completed);
        if (target is null)
        {
            ServiceRules.AddEvent(service, $"(service {service.Name}) has no completed deployment to roll back to.", Now, TimeSpan.Zero, _logger);
            return;
        }

        ServiceRules.AddEvent(service, $"(service {service.Name}) rolling back to deployment {target.Id}.", Now, TimeSpan.Zero, _logger);
        ServiceRules.StartDeployment(service, ServiceRules.DefinitionOf(_tx.Definitions, service, target.TaskDefinitionArn), Now, _logger, $"ECS deployment circuit breaker: rolling back to deploymentId {target.Id}.");
        service.Steady = false;
    }

    /// <summary>Events for what the pass did, deployments that finished, the steady state, and a deleted service's end.</summary>
    private void Finish(int desired)
    {
        var service = Service;
        var name = service.Name;
        if (_draining.Count > 0)
        {
            ServiceRules.AddEvent(service, $"(service {name}) has begun draining connections on {_draining.Count} tasks.", Now, TimeSpan.Zero, _logger);
        }

        if (_stoppedRunning.Count > 0)
        {
            if (service.LoadBalancers.IsEmpty)
            {
                ServiceRules.AddEvent(service, $"(service {name}) has begun draining connections on {_stoppedRunning.Count} tasks.", Now, TimeSpan.Zero, _logger);
            }

            ServiceRules.AddEvent(service, $"(service {name}) has stopped {_stoppedRunning.Count} running tasks: {ServiceEvents.TaskList(_stoppedRunning)}.", Now, TimeSpan.Zero, _logger);
        }

        if (_stoppedOther.Count > 0)
        {
            ServiceRules.AddEvent(service, $"(service {name}) has stopped {_stoppedOther.Count} pending tasks: {ServiceEvents.TaskList(_stoppedOther)}.", Now, TimeSpan.Zero, _logger);
        }

        if (_created.Count > 0)
        {
            ServiceRules.AddEvent(service, $"(service {name}) has started {_created.Count} tasks: {ServiceEvents.TaskList(_created)}.", Now, TimeSpan.Zero, _logger);
        }

        var acted = _created.Count + _stoppedRunning.Count + _stoppedOther.Count + _draining.Count > 0;
        _serviceChanged |= acted;
        foreach (var deployment in service.Deployments.Skip(1))
        {
            if (deployment.Status == Statuses.Active && !service.Tasks.Any(t => t.StartedBy == deployment.Id))
            {
                deployment.Status = Statuses.Inactive;
                deployment.UpdatedAt = Now;
                _serviceChanged = true;
            }
        }

        _serviceChanged |= ServiceRules.TrimDeployments(service);
        var steady = _steady && !acted;
        if (steady && service.Status == Statuses.Active)
        {
            var primary = service.Primary;
            if (primary.RolloutState == Statuses.InProgress)
            {
                primary.RolloutState = Statuses.Completed;
                primary.RolloutStateReason = $"ECS deployment {primary.Id} completed.";
                primary.UpdatedAt = Now;
                ServiceRules.AddEvent(service, $"(service {name}) (deployment {primary.Id}) deployment completed.", Now, TimeSpan.Zero, _logger);
                _serviceChanged = true;
            }

            if (!service.Steady)
            {
                ServiceRules.AddEvent(service, $"(service {name}) has reached a steady state.", Now, TimeSpan.Zero, _logger);
                _serviceChanged = true;
            }

            // Steady: what failed before no longer slows the next launch down.
            _serviceChanged |= service.Throttle.Reset();
        }

        service.Steady = steady;
        if (steady && service.LostTaskIds.Count + service.ReplacementTaskIds.Count > 0
            && !service.Tasks.Any(t => t.LastStatus == LifecycleStatus.Unknown))
        {
            // The reconnect (or the loss) is resolved: later surpluses are plain scale-ins again.
            service.LostTaskIds.Clear();
            service.ReplacementTaskIds.Clear();
        }

        if (service.Status == Statuses.Draining && service.Tasks.Count == 0)
        {
            service.Status = Statuses.Inactive;
            service.InactiveAt = Now;
            ServiceRules.AddEvent(service, $"(service {name}) has been deleted.", Now, TimeSpan.Zero, _logger);
            _serviceChanged = true;
        }

        if (!service.IsDaemon && service.Primary.DesiredCount != desired && service.Status == Statuses.Active)
        {
            service.Primary.DesiredCount = desired;
            _serviceChanged = true;
        }
    }
}
