using Berth.Scheduler.Placement;
using Berth.Scheduler.State.Persistence;
using Berth.Scheduler.V1;
using PlacementConstraint = Berth.Scheduler.Placement.PlacementConstraint;

namespace Berth.Scheduler.State;

// The service reconciler's pass: level-triggered and idempotent. Each service is compared with its tasks under the
// lock (placement needs the current snapshot, see the class remarks); the starts and stops it decides are queued
// like any other change and pushed to the agents once durable.
internal sealed partial class SchedulerState
{
    /// <summary>
    /// Reconciles every ACTIVE and DRAINING service once. Returns how many services changed (tasks started or stopped,
    /// deployments or events written); 0 means the pass found nothing to do.
    /// </summary>
    public async Task<int> ReconcileServicesAsync(TimeSpan eventRepeatInterval, CancellationToken cancellationToken)
    {
        await WhenLoaded;
        // Wakes from now on ask for another pass: what changes while this one runs is looked at again.
        ReconcileSignal.Reset();
        List<ServiceRecord> services;
        lock (_gate)
        {
            services = [.. _services.Values.Where(s => s.Info.Status != ServiceStatuses.Inactive)];
        }

        var passes = new List<(Task Commit, ServicePass Pass)>();
        foreach (var service in services)
        {
            cancellationToken.ThrowIfCancellationRequested();
            // One lock per service, not per pass: API calls and agent reports interleave with a long pass.
            lock (_gate)
            {
                if (service.Info.Status == ServiceStatuses.Inactive)
                {
                    continue;
                }

                var pass = new ServicePass(service, Now, eventRepeatInterval);
                ReconcileLocked(pass);
                if (pass.ServiceChanged)
                {
                    pass.Changes.Services.Add(ToRow(service));
                }

                if (!pass.Changes.IsEmpty)
                {
                    passes.Add((Queue(pass.Changes), pass));
                }
            }
        }

        var touched = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (commit, pass) in passes)
        {
            await DurableAsync(commit);
            lock (_gate)
            {
                // Per service, its own set: see PublishCreatedLocked on why every publish bumps its instances.
                var instances = new HashSet<string>(StringComparer.Ordinal);
                PublishCreatedLocked(pass.Created, instances);
                foreach (var id in pass.StoppedOn)
                {
                    if (instances.Add(id) && _instances.TryGetValue(id, out var instance))
                    {
                        instance.DesiredVersion = NextSeq();
                    }
                }

                touched.UnionWith(instances);
            }
        }

        Notify(touched);
        return passes.Count;
    }

    private void ReconcileLocked(ServicePass pass)
    {
        var service = pass.Service;
        foreach (var task in service.Tasks)
        {
            if (task.LastStatus == LifecycleStatus.Unknown && task.DesiredStatus == LifecycleStatus.Running)
            {
                service.LostTaskIds.Add(task.Id);
            }
        }

        StopUnhealthyLocked(pass);
        TripCircuitBreakerLocked(pass);

        int desired;
        if (service.IsDaemon)
        {
            desired = ReconcileDaemonLocked(pass);
        }
        else
        {
            desired = service.Info.Status == ServiceStatuses.Active ? service.Info.DesiredCount : 0;
            var tasks = service.Tasks.ToList();
            ReconcileSliceLocked(pass, tasks, desired, t => InstanceIsActive(t.InstanceId), onlyInstance: null);
        }

        FinishPassLocked(pass, desired);
    }

    /// <summary>DAEMON: each ACTIVE instance that meets the constraints is a slice wanting one task; every other instance a slice wanting none.</summary>
    private int ReconcileDaemonLocked(ServicePass pass)
    {
        var service = pass.Service;
        var eligible = service.Info.Status == ServiceStatuses.Active
            ? DaemonInstancesLocked(service).Select(i => i.Id).ToHashSet(StringComparer.Ordinal)
            : [];
        var byInstance = service.Tasks.GroupBy(t => t.InstanceId, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        foreach (var id in eligible.Union(byInstance.Keys).ToList())
        {
            var wanted = eligible.Contains(id);
            var tasks = byInstance.GetValueOrDefault(id) ?? [];
            // An instance whose agent is away gets nothing new (the placement would only fail on AGENT every pass).
            var reachable = _instances.TryGetValue(id, out var instance) && instance.AgentConnected;
            ReconcileSliceLocked(pass, tasks, wanted ? 1 : 0, _ => wanted, onlyInstance: reachable ? id : "");
        }

        return eligible.Count;
    }

    /// <summary>The ACTIVE instances of the service's cluster that meet its memberOf constraints (and its task definition's).</summary>
    private List<InstanceRecord> DaemonInstancesLocked(ServiceRecord service)
    {
        var queries = PlacementConstraintsLocked(service).Where(c => c.Expression is not null).Select(c => c.Expression!).ToList();
        var snapshot = Snapshot(service.Cluster);
        var instances = new List<InstanceRecord>();
        foreach (var instance in _instances.Values)
        {
            if (instance.Cluster == service.Cluster && instance.Status == ContainerInstanceStatus.Active
                && snapshot.Find(instance.Id) is { } view && queries.TrueForAll(q => q.Matches(view)))
            {
                instances.Add(instance);
            }
        }

        return instances;
    }

    private List<PlacementConstraint> PlacementConstraintsLocked(ServiceRecord service)
    {
        var definition = DefinitionLocked(service, service.Primary.TaskDefinition);
        var constraints = ParseConstraints(definition, []);
        constraints.AddRange(service.Constraints);
        return constraints;
    }

    private bool InstanceIsActive(string instanceId) => _instances.TryGetValue(instanceId, out var instance) && instance.Status == ContainerInstanceStatus.Active;

    /// <summary>
    /// Brings one slice of a service's tasks (all of them for REPLICA, one instance's for DAEMON) towards
    /// <paramref name="desired"/> tasks of the PRIMARY deployment on eligible instances, within the deployment
    /// configuration: at most maximumPercent of desired placed (RUNNING, PENDING or still stopping), and a running,
    /// healthy task stopped only while at least minimumHealthyPercent stay healthy. Starts come first, so a replacement
    /// exists before what it replaces is stopped.
    /// </summary>
    /// <param name="onlyInstance">null: place anywhere; an id: place only there; empty: place nothing.</param>
    private void ReconcileSliceLocked(ServicePass pass, List<TaskRecord> tasks, int desired, Func<TaskRecord, bool> eligible, string? onlyInstance)
    {
        var service = pass.Service;
        var primary = service.Primary;
        var live = tasks.Where(t => t.DesiredStatus == LifecycleStatus.Running && t.LastStatus != LifecycleStatus.Unknown).ToList();
        // UNKNOWN tasks do not count: their host is lost, and what replaces them must fit under maximumPercent.
        var placed = tasks.Count(t => t.LastStatus != LifecycleStatus.Unknown);
        var primaryTasks = live.Where(t => t.StartedBy == primary.Id && eligible(t)).ToList();
        var maxPlaced = desired * service.MaximumPercent / 100;
        var minHealthy = ((desired * service.MinimumHealthyPercent) + 99) / 100;

        var missing = desired - primaryTasks.Count;
        var budget = Math.Min(missing, maxPlaced - placed);
        // A FAILED PRIMARY (circuit breaker without rollback) launches nothing more.
        if (budget > 0 && primary.RolloutState != ServiceStatuses.Failed && onlyInstance != "")
        {
            PlaceLocked(pass, budget, onlyInstance);
        }

        var healthy = live.Count(t => IsHealthy(t));
        var stoppable = healthy - minHealthy;
        var failedPrimary = primary.RolloutState == ServiceStatuses.Failed;
        var unwanted = live
            .Where(t => t.StartedBy != primary.Id || !eligible(t))
            // While a failed deployment is left in place, the older tasks that still serve stay.
            .Where(t => !(failedPrimary && eligible(t) && IsHealthy(t)))
            .OrderBy(t => IsHealthy(t));
        var surplus = primaryTasks.Count - desired;
        var victims = surplus <= 0 ? [] : primaryTasks
            .OrderBy(t => ReconnectRank(service, t))
            .ThenBy(t => IsHealthy(t))
            .ThenByDescending(t => t.CreatedAt)
            .Take(surplus);
        foreach (var task in unwanted.Concat(victims).ToList())
        {
            if (IsHealthy(task))
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
            StopServiceTaskLocked(pass, task, reason);
        }

        var steady = primaryTasks.Count == desired && live.Count == desired && placed == desired
            && tasks.TrueForAll(t => t.LastStatus != LifecycleStatus.Unknown)
            && primaryTasks.TrueForAll(t => IsHealthy(t));
        pass.Steady &= steady;
    }

    /// <summary>Orders surplus tasks for stopping: the ones the reconnect policy gives up first.</summary>
    private static int ReconnectRank(ServiceRecord service, TaskRecord task) => service.ReconnectPolicy == ReconnectPolicy.KeepOriginal
        ? service.ReplacementTaskIds.Contains(task.Id) ? 0 : 1
        : service.LostTaskIds.Contains(task.Id) ? 0 : 1;

    private static string ReconnectPolicyName(ReconnectPolicy policy) => policy == ReconnectPolicy.KeepOriginal ? "KEEP_ORIGINAL" : "KEEP_REPLACEMENT";

    private void PlaceLocked(ServicePass pass, int count, string? onlyInstance)
    {
        var service = pass.Service;
        var definition = DefinitionLocked(service, service.Primary.TaskDefinition);
        var cluster = service.Cluster;
        var snapshot = Snapshot(cluster);
        if (onlyInstance is not null)
        {
            // DAEMON: the one instance this slice is about, as a cluster of its own.
            if (snapshot.Find(onlyInstance) is not { } view)
            {
                return;
            }

            snapshot = ClusterSnapshot.Create(cluster, [view]);
        }

        var result = engine.Place(snapshot, new PlacementRequest
        {
            Task = definition.Requirements,
            Count = count,
            Group = service.Group,
            Strategies = service.Strategies,
            Constraints = PlacementConstraintsLocked(service),
        });
        var anyLost = service.Tasks.Any(t => t.LastStatus == LifecycleStatus.Unknown && t.DesiredStatus == LifecycleStatus.Running);
        foreach (var placement in result.Placements)
        {
            _snapshots[cluster] = onlyInstance is null ? result.Snapshot : _snapshots[cluster].WithTaskStarted(placement.InstanceId, placement.Reservation);
            var task = AddPlacedTaskLocked(cluster, definition, placement, service.Group, service.Primary.Id, service.Info.LaunchType, null, null, pass.Now);
            service.Tasks.Add(task);
            if (anyLost)
            {
                service.ReplacementTaskIds.Add(task.Id);
            }

            pass.Created.Add(task);
            pass.Changes.Tasks.Add(ToRow(task));
        }

        if (!result.Failures.IsEmpty)
        {
            var message = ServiceEvents.UnableToPlace(service.Name, result.Failures[0], cluster);
            pass.ServiceChanged |= AddEventLocked(service, message, pass.Now, pass.EventRepeatInterval);
        }
    }

    private void StopServiceTaskLocked(ServicePass pass, TaskRecord task, string reason)
    {
        if (task.LastStatus == LifecycleStatus.Running)
        {
            pass.StoppedRunning.Add(task);
        }
        else
        {
            pass.StoppedOther.Add(task);
        }

        RequestStopLocked(task, StopCode.ServiceSchedulerInitiated, reason, pass.Changes);
        pass.StoppedOn.Add(task.InstanceId);
    }

    /// <summary>Stops RUNNING tasks whose health check failed after the grace period; each counts as a failed task of its deployment.</summary>
    private void StopUnhealthyLocked(ServicePass pass)
    {
        var service = pass.Service;
        var grace = TimeSpan.FromSeconds(service.Info.HealthCheckGracePeriodSeconds);
        foreach (var task in service.Tasks.ToList())
        {
            if (task.DesiredStatus != LifecycleStatus.Running || task.LastStatus != LifecycleStatus.Running
                || task.HealthStatus != HealthStatus.Unhealthy || !HasHealthCheck(task.Definition)
                || (task.StartedAt is { } started && pass.Now - started < grace))
            {
                continue;
            }

            StopServiceTaskLocked(pass, task, "Task failed container health checks");
            if (service.Info.Deployments.FirstOrDefault(d => d.Id == task.StartedBy) is { } deployment)
            {
                deployment.FailedTasks++;
                deployment.UpdatedAt = Ts(pass.Now);
            }

            AddEventLocked(service, $"(service {service.Name}) (task {task.Id}) failed container health checks.", pass.Now, TimeSpan.Zero);
            pass.ServiceChanged = true;
        }
    }

    /// <summary>
    /// ECS's deployment circuit breaker: a PRIMARY deployment in progress whose failed tasks reach
    /// clamp(0.5 x desired, 3, 200) fails; with rollback, a new deployment of the last COMPLETED one's task definition starts.
    /// </summary>
    private void TripCircuitBreakerLocked(ServicePass pass)
    {
        var service = pass.Service;
        var primary = service.Primary;
        var breaker = service.Info.DeploymentConfiguration?.DeploymentCircuitBreaker;
        if (breaker is not { Enable: true } || primary.RolloutState != ServiceStatuses.InProgress || service.Info.Status != ServiceStatuses.Active)
        {
            return;
        }

        var desired = service.IsDaemon ? DaemonInstancesLocked(service).Count : service.Info.DesiredCount;
        var threshold = Math.Clamp((int)Math.Ceiling(0.5 * desired), 3, 200);
        if (primary.FailedTasks < threshold)
        {
            return;
        }

        primary.RolloutState = ServiceStatuses.Failed;
        primary.RolloutStateReason = "ECS deployment circuit breaker: tasks failed to start.";
        primary.UpdatedAt = Ts(pass.Now);
        pass.ServiceChanged = true;
        AddEventLocked(service, $"(service {service.Name}) (deployment {primary.Id}) deployment failed: tasks failed to start.", pass.Now, TimeSpan.Zero);
        if (!breaker.Rollback)
        {
            return;
        }

        var target = service.Info.Deployments.Skip(1).FirstOrDefault(d => d.RolloutState == ServiceStatuses.Completed);
        if (target is null)
        {
            AddEventLocked(service, $"(service {service.Name}) has no completed deployment to roll back to.", pass.Now, TimeSpan.Zero);
            return;
        }

        AddEventLocked(service, $"(service {service.Name}) rolling back to deployment {target.Id}.", pass.Now, TimeSpan.Zero);
        StartDeploymentLocked(service, DefinitionLocked(service, target.TaskDefinition), pass.Now, $"ECS deployment circuit breaker: rolling back to deploymentId {target.Id}.");
        service.Steady = false;
    }

    /// <summary>Events for what the pass did, deployments that finished, the steady state, and a deleted service's end.</summary>
    private void FinishPassLocked(ServicePass pass, int desired)
    {
        var service = pass.Service;
        var name = service.Name;
        if (pass.StoppedRunning.Count > 0)
        {
            AddEventLocked(service, $"(service {name}) has begun draining connections on {pass.StoppedRunning.Count} tasks.", pass.Now, TimeSpan.Zero);
            AddEventLocked(service, $"(service {name}) has stopped {pass.StoppedRunning.Count} running tasks: {ServiceEvents.TaskList(pass.StoppedRunning)}.", pass.Now, TimeSpan.Zero);
        }

        if (pass.StoppedOther.Count > 0)
        {
            AddEventLocked(service, $"(service {name}) has stopped {pass.StoppedOther.Count} pending tasks: {ServiceEvents.TaskList(pass.StoppedOther)}.", pass.Now, TimeSpan.Zero);
        }

        if (pass.Created.Count > 0)
        {
            AddEventLocked(service, $"(service {name}) has started {pass.Created.Count} tasks: {ServiceEvents.TaskList(pass.Created)}.", pass.Now, TimeSpan.Zero);
        }

        var acted = pass.Created.Count + pass.StoppedRunning.Count + pass.StoppedOther.Count > 0;
        pass.ServiceChanged |= acted;
        foreach (var deployment in service.Info.Deployments.Skip(1))
        {
            if (deployment.Status == ServiceStatuses.Active && !service.Tasks.Any(t => t.StartedBy == deployment.Id))
            {
                deployment.Status = ServiceStatuses.Inactive;
                deployment.UpdatedAt = Ts(pass.Now);
                pass.ServiceChanged = true;
            }
        }

        var steady = pass.Steady && !acted;
        if (steady && service.Info.Status == ServiceStatuses.Active)
        {
            var primary = service.Primary;
            if (primary.RolloutState == ServiceStatuses.InProgress)
            {
                primary.RolloutState = ServiceStatuses.Completed;
                primary.RolloutStateReason = $"ECS deployment {primary.Id} completed.";
                primary.UpdatedAt = Ts(pass.Now);
                AddEventLocked(service, $"(service {name}) (deployment {primary.Id}) deployment completed.", pass.Now, TimeSpan.Zero);
                pass.ServiceChanged = true;
            }

            if (!service.Steady)
            {
                AddEventLocked(service, $"(service {name}) has reached a steady state.", pass.Now, TimeSpan.Zero);
                pass.ServiceChanged = true;
            }
        }

        service.Steady = steady;
        if (steady && service.LostTaskIds.Count + service.ReplacementTaskIds.Count > 0)
        {
            // The reconnect (or the loss) is resolved: later surpluses are plain scale-ins again.
            service.LostTaskIds.Clear();
            service.ReplacementTaskIds.Clear();
        }

        if (service.Info.Status == ServiceStatuses.Draining && service.Tasks.Count == 0)
        {
            service.Info.Status = ServiceStatuses.Inactive;
            AddEventLocked(service, $"(service {name}) has been deleted.", pass.Now, TimeSpan.Zero);
            pass.ServiceChanged = true;
        }

        if (!service.IsDaemon && service.Primary.DesiredCount != desired && service.Info.Status == ServiceStatuses.Active)
        {
            service.Primary.DesiredCount = desired;
            pass.ServiceChanged = true;
        }
    }

    /// <summary>
    /// Healthy as a deployment counts it: RUNNING, no essential container stopped, and every health check (if the
    /// task definition has any for an essential container) passing.
    /// </summary>
    private static bool IsHealthy(TaskRecord task)
    {
        if (task.LastStatus != LifecycleStatus.Running)
        {
            return false;
        }

        foreach (var container in task.Containers)
        {
            if (container.Essential && container.LastStatus == LifecycleStatus.Stopped)
            {
                return false;
            }
        }

        return !HasHealthCheck(task.Definition) || task.HealthStatus == HealthStatus.Healthy;
    }

    private static bool HasHealthCheck(TaskDefinitionRecord definition) =>
        definition.Definition.ContainerDefinitions?.Exists(c => c.IsEssential && c.HealthCheck is not null) ?? false;

    /// <summary>
    /// Called whenever a task becomes STOPPED: takes it out of its service, and counts it as a failed task of its
    /// deployment when it stopped without being asked to (failed to start, essential container exited). Under the lock.
    /// </summary>
    private void ServiceTaskStoppedLocked(TaskRecord task, ChangeSet changes)
    {
        if (!task.Group.StartsWith("service:", StringComparison.Ordinal)
            || !_services.TryGetValue(ServiceRecord.KeyOf(task.Cluster, task.Group["service:".Length..]), out var service)
            || !service.Tasks.Remove(task))
        {
            return;
        }

        service.LostTaskIds.Remove(task.Id);
        service.ReplacementTaskIds.Remove(task.Id);
        if (task.StopCode is StopCode.TaskFailedToStart or StopCode.EssentialContainerExited
            && service.Info.Deployments.FirstOrDefault(d => d.Id == task.StartedBy) is { } deployment)
        {
            deployment.FailedTasks++;
            deployment.UpdatedAt = Ts(Now);
            changes.Services.Add(ToRow(service));
        }
    }

    /// <summary>What one service's pass decided, gathered to be queued in one commit.</summary>
    private sealed class ServicePass(ServiceRecord service, DateTimeOffset now, TimeSpan eventRepeatInterval)
    {
        public ServiceRecord Service { get; } = service;

        public DateTimeOffset Now { get; } = now;

        public TimeSpan EventRepeatInterval { get; } = eventRepeatInterval;

        public ChangeSet Changes { get; } = new();

        public List<TaskRecord> Created { get; } = [];

        public List<TaskRecord> StoppedRunning { get; } = [];

        public List<TaskRecord> StoppedOther { get; } = [];

        public HashSet<string> StoppedOn { get; } = new(StringComparer.Ordinal);

        public bool ServiceChanged { get; set; }

        /// <summary>True until a slice finds the service not steady.</summary>
        public bool Steady { get; set; } = true;
    }
}
