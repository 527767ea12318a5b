using Berth.Core.ClusterQuery;
using Berth.Scheduler.Placement;
using Berth.Scheduler.State.Persistence;
using Berth.Scheduler.V1;
using PlacementConstraint = Berth.Scheduler.Placement.PlacementConstraint;
using PlacementStrategy = Berth.Scheduler.Placement.PlacementStrategy;

namespace Berth.Scheduler.State;

// Tasks: RunTask, StopTask, reads.
internal sealed partial class SchedulerState
{
    public async Task<RunTaskResponse> RunTaskAsync(RunTaskRequest request)
    {
        var cluster = Arns.ClusterName(request.Cluster);
        var count = request.Count == 0 ? 1 : request.Count;
        if (count is < 1 or > 10)
        {
            throw StateException.Invalid("count must be 1-10.");
        }

        if (string.IsNullOrEmpty(request.TaskDefinition))
        {
            throw StateException.Invalid("task_definition is required.");
        }

        if (request.StartedBy.Length > 128)
        {
            throw StateException.Invalid("started_by must be at most 128 characters.");
        }

        var launchType = string.IsNullOrEmpty(request.LaunchType) ? "EC2" : request.LaunchType;
        if (launchType is not ("EC2" or "FARGATE"))
        {
            throw StateException.Invalid("launch_type must be EC2 or FARGATE.");
        }

        var strategies = ParseStrategies(request.PlacementStrategy);

        var response = new RunTaskResponse();
        var created = new List<TaskRecord>();
        Task commit;
        lock (_gate)
        {
            if (!string.IsNullOrEmpty(request.ClientToken) && _tasksByClientToken.TryGetValue(request.ClientToken, out var earlier))
            {
                // An idempotent retry: answer with what the first call started, place nothing new.
                response.Tasks.AddRange(earlier.Select(t => ToInfo(t)));
                return response;
            }

            RequireClusterLocked(cluster);
            var definition = ResolveDefinitionLocked(request.TaskDefinition) ?? throw StateException.NotFound($"Task definition '{request.TaskDefinition}' not found.");
            if (definition.Status != "ACTIVE")
            {
                throw StateException.Invalid($"Task definition '{definition.Arn}' is INACTIVE.");
            }

            if (launchType == "FARGATE" && !(definition.Definition.RequiresCompatibilities?.Contains("FARGATE") ?? false))
            {
                throw StateException.Invalid($"Task definition '{definition.Arn}' does not support the FARGATE launch type (requiresCompatibilities).");
            }

            var constraints = ParseConstraints(definition, request.PlacementConstraints);

            var snapshot = Snapshot(cluster);
            var group = string.IsNullOrEmpty(request.Group) ? "family:" + definition.Family : request.Group;
            var result = engine.Place(snapshot, new PlacementRequest
            {
                Task = definition.Requirements,
                Count = count,
                Group = group,
                Strategies = strategies,
                Constraints = constraints,
            });
            if (result.Placements.IsEmpty && result.Failures.Any(f => f.Reason == PlacementFailureReasons.NoActiveInstances))
            {
                // ECS answers this case with an InvalidParameterException rather than failures.
                throw StateException.Precondition($"No container instances were found in cluster '{cluster}'.");
            }

            _snapshots[cluster] = result.Snapshot;

            var changes = new ChangeSet();
            var now = Now;
            foreach (var placement in result.Placements)
            {
                var task = AddPlacedTaskLocked(cluster, definition, placement, group, request.StartedBy, launchType, request.ClientToken, request.Overrides, now);
                created.Add(task);
                changes.Tasks.Add(ToRow(task));
            }

            foreach (var failure in result.Failures)
            {
                response.Failures.Add(new Failure
                {
                    Arn = failure.InstanceId is { } id ? Arns.ContainerInstance(cluster, id) : "",
                    Reason = failure.Reason,
                    Detail = failure.Detail,
                });
            }

            commit = Queue(changes);
        }

        await DurableAsync(commit);
        var touched = new HashSet<string>(StringComparer.Ordinal);
        lock (_gate)
        {
            PublishCreatedLocked(created, touched);
            response.Tasks.AddRange(created.Select(t => ToInfo(t)));
        }

        Notify(touched);
        return response;
    }

    /// <summary>Parses ECS placement strategies (at most five); errors name the field.</summary>
    internal static List<PlacementStrategy> ParseStrategies(IReadOnlyList<V1.PlacementStrategy> given)
    {
        if (given.Count > PlacementRequest.MaxStrategies)
        {
            throw StateException.Invalid($"placement_strategy: at most {PlacementRequest.MaxStrategies} strategies.");
        }

        var strategies = new List<PlacementStrategy>();
        for (var i = 0; i < given.Count; i++)
        {
            var s = given[i];
            try
            {
                strategies.Add(PlacementStrategy.Create(s.Type, string.IsNullOrEmpty(s.Field) ? null : s.Field));
            }
            catch (ArgumentException e)
            {
                throw StateException.Invalid($"placement_strategy[{i}]: {e.Message}");
            }
        }

        return strategies;
    }

    /// <summary>Parses the task definition's placement constraints and the request's (at most 10 together); errors name the field.</summary>
    internal static List<PlacementConstraint> ParseConstraints(TaskDefinitionRecord definition, IEnumerable<V1.PlacementConstraint> given)
    {
        var constraints = new List<PlacementConstraint>();
        var allConstraints = (definition.Definition.PlacementConstraints ?? []).Select(c => (c.Type ?? "", c.Expression, Where: "task definition placementConstraints"))
            .Concat(given.Select(c => (c.Type, (string?)c.Expression, Where: "placement_constraints")))
            .ToList();
        if (allConstraints.Count > 10)
        {
            throw StateException.Invalid("placement_constraints: at most 10 placement constraints (task definition and request together).");
        }

        foreach (var (type, expression, where) in allConstraints)
        {
            try
            {
                constraints.Add(PlacementConstraint.Create(type, string.IsNullOrEmpty(expression) ? null : expression));
            }
            catch (Exception e) when (e is ArgumentException or FormatException)
            {
                throw StateException.Invalid($"{where}: {e.Message}");
            }
        }

        return constraints;
    }

    /// <summary>Creates the record of a placed task and indexes it; the caller queues its row. Under the lock.</summary>
    private TaskRecord AddPlacedTaskLocked(
        string cluster, TaskDefinitionRecord definition, TaskPlacement placement, string group, string startedBy, string launchType, string? clientToken, TaskOverride? overrides, DateTimeOffset now)
    {
        var task = new TaskRecord
        {
            Id = Guid.NewGuid().ToString("N"),
            Cluster = cluster,
            InstanceId = placement.InstanceId,
            Definition = definition,
            Group = group,
            StartedBy = startedBy,
            LaunchType = launchType,
            ClientToken = string.IsNullOrEmpty(clientToken) ? null : clientToken,
            Overrides = overrides,
            Ports = placement.PortBindings,
            Reservation = placement.Reservation,
            CreatedAt = now,
            Containers = NewContainers(definition, placement),
            DesiredSeq = NextSeq(),
        };
        _tasks[task.Id] = task;
        _instances[task.InstanceId].Tasks.Add(task);
        if (task.ClientToken is { } token)
        {
            ClientTokenList(token).Add(task);
        }

        return task;
    }

    /// <summary>Marks tasks durable once their commit completed, and bumps their instances' versions. Under the lock.</summary>
    private void PublishCreatedLocked(IEnumerable<TaskRecord> created, HashSet<string> touched)
    {
        foreach (var task in created)
        {
            task.Durable = true;
            // A fresh version, not the task's own sequence: a later RunTask on this instance may have become
            // durable (and been pushed) first, and a version the agent already has would hide these tasks.
            if (touched.Add(task.InstanceId))
            {
                _instances[task.InstanceId].DesiredVersion = NextSeq();
            }
        }
    }

    private static List<Container> NewContainers(TaskDefinitionRecord definition, TaskPlacement placement)
    {
        var containers = new List<Container>();
        foreach (var c in definition.Definition.ContainerDefinitions ?? [])
        {
            var container = new Container
            {
                Name = c.Name ?? "",
                Image = c.Image ?? "",
                LastStatus = LifecycleStatus.Pending,
                Essential = c.IsEssential,
            };
            foreach (var p in placement.PortBindings)
            {
                if (p.ContainerName == container.Name)
                {
                    container.NetworkBindings.Add(new NetworkBinding
                    {
                        ContainerPort = p.ContainerPort,
                        HostPort = p.HostPort,
                        Protocol = p.Protocol == TransportProtocol.Udp ? "udp" : "tcp",
                    });
                }
            }

            containers.Add(container);
        }

        return containers;
    }

    public async Task<TaskInfo> StopTaskAsync(string clusterReference, string taskReference, string reason)
    {
        var cluster = Arns.ClusterName(clusterReference);
        if (reason.Length > 255)
        {
            throw StateException.Invalid("reason must be at most 255 characters.");
        }

        TaskRecord task;
        Task commit;
        lock (_gate)
        {
            RequireClusterLocked(cluster);
            if (!TryGetTaskLocked(Arns.Id(taskReference), out task!) || task.Cluster != cluster)
            {
                throw StateException.NotFound($"Task '{taskReference}' not found in cluster '{cluster}'.");
            }

            if (task.DesiredStatus == LifecycleStatus.Stopped)
            {
                return ToInfo(task);
            }

            var changes = new ChangeSet();
            RequestStopLocked(task, StopCode.UserInitiated, string.IsNullOrEmpty(reason) ? "Task stopped by user" : reason, changes);
            commit = Queue(changes);
        }

        await DurableAsync(commit);
        lock (_gate)
        {
            if (_instances.TryGetValue(task.InstanceId, out var instance))
            {
                instance.DesiredVersion = NextSeq();
            }

            Notify([task.InstanceId]);
            return ToInfo(task);
        }
    }

    /// <summary>
    /// Sets a task's desired status to STOPPED; the agent stops it once it sees the instance's next version (the
    /// caller bumps it after the row is durable). Under the lock.
    /// </summary>
    private void RequestStopLocked(TaskRecord task, StopCode code, string reason, ChangeSet changes)
    {
        task.DesiredStatus = LifecycleStatus.Stopped;
        task.StopCode = code;
        task.StoppedReason = reason;
        task.StoppingAt = Now;
        task.Version++;
        task.DesiredSeq = NextSeq();
        changes.Tasks.Add(ToRow(task));
    }

    public (List<TaskInfo> Found, List<Failure> Failures) DescribeTasks(string clusterReference, IEnumerable<string> references)
    {
        var cluster = Arns.ClusterName(clusterReference);
        var found = new List<TaskInfo>();
        var failures = new List<Failure>();
        lock (_gate)
        {
            RequireClusterLocked(cluster);
            foreach (var reference in references)
            {
                if (TryGetTaskLocked(Arns.Id(reference), out var task) && task.Cluster == cluster)
                {
                    found.Add(ToInfo(task));
                }
                else
                {
                    failures.Add(new Failure { Arn = reference, Reason = "MISSING", Detail = $"Task '{reference}' not found in cluster '{cluster}'." });
                }
            }
        }

        return (found, failures);
    }

    public (IReadOnlyList<string> Arns, string NextToken) ListTasks(ListTasksRequest request)
    {
        var cluster = Arns.ClusterName(request.Cluster);
        var desired = request.DesiredStatus == LifecycleStatus.Unspecified ? LifecycleStatus.Running : request.DesiredStatus;
        if (desired is not (LifecycleStatus.Running or LifecycleStatus.Stopped or LifecycleStatus.Pending))
        {
            throw StateException.Invalid("desired_status must be RUNNING, PENDING or STOPPED.");
        }

        lock (_gate)
        {
            RequireClusterLocked(cluster);
            IEnumerable<TaskRecord> candidates;
            if (!string.IsNullOrEmpty(request.ContainerInstance))
            {
                var instance = InstanceLocked(cluster, request.ContainerInstance);
                // An instance's non-stopped tasks are indexed; stopped ones need the full scan.
                candidates = desired == LifecycleStatus.Stopped ? AllTasksLocked().Where(t => t.InstanceId == instance.Id) : instance.Tasks;
            }
            else
            {
                // Stopped rows kept from start-up match only a STOPPED listing.
                candidates = desired == LifecycleStatus.Stopped ? AllTasksLocked() : _tasks.Values;
            }

            var group = string.IsNullOrEmpty(request.ServiceName) ? null : "service:" + request.ServiceName;
            var matching = candidates
                .Where(t => t.Cluster == cluster && t.Durable)
                .Where(t => desired switch
                {
                    // ECS: PENDING lists tasks whose desired status is RUNNING but that do not run yet.
                    // UNKNOWN tasks (on a lost host) may be running: they list as RUNNING only.
                    LifecycleStatus.Pending => t.DesiredStatus == LifecycleStatus.Running && t.LastStatus is not (LifecycleStatus.Running or LifecycleStatus.Unknown),
                    _ => t.DesiredStatus == desired,
                })
                .Where(t => string.IsNullOrEmpty(request.Family) || t.Definition.Family == request.Family)
                .Where(t => string.IsNullOrEmpty(request.StartedBy) || t.StartedBy == request.StartedBy)
                .Where(t => group is null || t.Group == group)
                .OrderBy(t => t.Id, StringComparer.Ordinal);
            var (page, next) = Paging.Page(matching, request.MaxResults, request.NextToken, t => t.Id);
            return (page.Select(t => t.Arn).ToList(), next);
        }
    }

    /// <summary>Marks a task STOPPED: its reservation goes back to the instance and it leaves the desired set.</summary>
    private void MarkStoppedLocked(TaskRecord task, InstanceRecord? instance, ChangeSet changes)
    {
        if (task.LastStatus == LifecycleStatus.Stopped)
        {
            return;
        }

        task.LastStatus = LifecycleStatus.Stopped;
        task.DesiredStatus = LifecycleStatus.Stopped;
        task.StoppedAt ??= Now;
        foreach (var container in task.Containers)
        {
            if (container.LastStatus != LifecycleStatus.Stopped)
            {
                container.LastStatus = LifecycleStatus.Stopped;
            }
        }

        task.Version++;
        task.DesiredSeq = NextSeq();
        if (instance is not null && instance.Tasks.Remove(task))
        {
            instance.DesiredVersion = Math.Max(instance.DesiredVersion, task.DesiredSeq);
            if (Snapshot(instance.Cluster).Find(instance.Id) is not null)
            {
                _snapshots[instance.Cluster] = _snapshots[instance.Cluster].WithTaskStopped(instance.Id, task.Reservation);
            }
        }

        changes.Tasks.Add(ToRow(task));
        ServiceTaskStoppedLocked(task, changes);
    }

    public int CountTasks()
    {
        lock (_gate)
        {
            return _tasks.Count + _stoppedRows.Count;
        }
    }
}
