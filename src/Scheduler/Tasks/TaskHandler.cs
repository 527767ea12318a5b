using System.Collections.Immutable;
using Berth.Scheduler.CapacityProviders;
using Berth.Scheduler.Fargate;
using Berth.Scheduler.Kernel;
using Berth.Scheduler.LoadBalancing;
using Berth.Scheduler.Networking;
using Berth.Scheduler.Placement;
using Berth.Scheduler.SecurityGroups;

namespace Berth.Scheduler.Tasks;

/// <summary>Tasks: RunTask (placement), StopTask, DescribeTasks, ListTasks.</summary>
internal sealed class TaskHandler(StateKernel kernel, PlacementEngine engine, FargatePool pool, ILogger<TaskHandler> logger)
{
    /// <summary>ECS: a group is at most 255 characters.</summary>
    public const int MaxGroupLength = 255;

    /// <summary>ECS: startedBy is at most 128 characters.</summary>
    public const int MaxStartedByLength = 128;

    /// <summary>ECS: a client token is at most 64 characters.</summary>
    public const int MaxClientTokenLength = 64;

    /// <summary>ECS: the overrides of a task are at most 8 KiB of text.</summary>
    public const int MaxOverridesSize = 8192;

    /// <summary>A task-definition reference (family, family:revision or ARN).</summary>
    public const int MaxReferenceLength = 1024;

    /// <summary>Places and starts tasks; <paramref name="view"/> projects each created task under the cluster's lock.</summary>
    public async Task<(List<T> Tasks, List<Failure> Failures)> RunTaskAsync<T>(RunTaskCommand command, Func<TaskRecord, T> view)
    {
        var count = command.Count == 0 ? 1 : command.Count;
        if (count is < 1 or > 10)
        {
            throw StateException.Invalid("count must be 1-10.");
        }

        if (string.IsNullOrEmpty(command.TaskDefinition))
        {
            throw StateException.Invalid("task_definition is required.");
        }

        Limit(command.TaskDefinition, MaxReferenceLength, "task_definition");
        Limit(command.Group, MaxGroupLength, "group");
        Limit(command.StartedBy, MaxStartedByLength, "started_by");
        Limit(command.ClientToken, MaxClientTokenLength, "client_token");
        if (command.Overrides is { } overrides && overrides.Size > MaxOverridesSize)
        {
            throw StateException.Invalid($"overrides: at most {MaxOverridesSize} characters of names, commands and environment together.");
        }

        LaunchChoice.Check(command.LaunchType, command.CapacityProviderStrategy);

        var strategies = PlacementSpecs.ParseStrategies(command.PlacementStrategy);
        var cluster = Arns.ClusterName(command.Cluster);
        return await kernel.CommitAsync(cluster, tx =>
        {
            if (!string.IsNullOrEmpty(command.ClientToken) && tx.Cluster.TasksWithClientToken(command.ClientToken) is { } earlier)
            {
                // An idempotent retry: answer with what the first call started, place nothing new.
                return (earlier.Select(view).ToList(), new List<Failure>());
            }

            tx.Cluster.RequireActive();
            var launch = LaunchChoice.Resolve(tx.Cluster, command.LaunchType, command.CapacityProviderStrategy);
            var launchType = launch.LaunchType;
            var definition = tx.Definitions.Resolve(command.TaskDefinition) ?? throw StateException.NotFound($"Task definition '{command.TaskDefinition}' not found.");
            if (!definition.IsActive)
            {
                throw StateException.Invalid($"Task definition '{definition.Arn}' is INACTIVE.");
            }

            if (launchType == "FARGATE" && !(definition.Definition.RequiresCompatibilities?.Contains("FARGATE") ?? false))
            {
                throw StateException.Invalid($"Task definition '{definition.Arn}' does not support the FARGATE launch type (requiresCompatibilities).");
            }

            var given = LaunchGroups.Validate(tx.Cluster, definition, command.SecurityGroups);
            var subnets = Subnets.Validate(tx.Cluster, pool.SubnetZones, definition, command.Subnets);
            var constraints = PlacementSpecs.ParseConstraints(definition, command.PlacementConstraints);
            constraints.AddRange(PlacementSpecs.Implied(definition));
            constraints.AddRange(Subnets.Implied(subnets));
            var group = string.IsNullOrEmpty(command.Group) ? "family:" + definition.Family : command.Group;
            var request = new PlacementRequest
            {
                Task = definition.Requirements,
                Count = count,
                Group = group,
                Strategies = strategies,
                Constraints = constraints,
            };
            // Launched by launch type: one share over the cluster's instances (not the FARGATE pool's). By strategy: one
            // share per provider, each on its host group (placed and adopted in order; nothing else happens before the
            // last refusal below). The FARGATE launch type with the pool on is the FARGATE provider's strategy.
            var snapshot = tx.Cluster.Snapshot;
            var strategy = launch.Strategy.Count == 0 && launchType == "FARGATE" && pool.Enabled ? FargatePool.LaunchTypeStrategy : launch.Strategy;
            List<StrategyPlacement.Share> shares = strategy.Count == 0
                ? [new("", engine.Place(snapshot, FargatePool.OutsidePool(tx.Cluster, request)))]
                : StrategyPlacement.Place(tx, engine, request, strategy, pool, subnets: subnets);
            if (shares.TrueForAll(s => s.Result.Placements.IsEmpty) && shares.Any(s => s.Result.Failures.Any(f => f.Reason == PlacementFailureReasons.NoActiveInstances)))
            {
                // ECS answers this case with an InvalidParameterException rather than failures.
                tx.AdoptPlacement(snapshot);
                throw StateException.Precondition($"No container instances were found in cluster '{cluster}'.");
            }

            if (shares.Any(s => s.Result.Failures.Any(f => f.Detail == Ecs.ProvisioningLimitExceeded)))
            {
                // ECS refuses the whole call when its tasks would pass the cluster's quota of waiting tasks.
                tx.AdoptPlacement(snapshot);
                throw Ecs.ProvisioningLimit();
            }

            var created = new List<T>(count);
            // Resolved after the last refusal: it may make the cluster's default group, a change a refusal must not leave.
            var groups = shares.TrueForAll(s => s.Result.Placements.IsEmpty && s.Waiting == 0) ? [] : LaunchGroups.ForTask(tx, definition, given);
            var failures = new List<Failure>();
            foreach (var (provider, result, waiting, reason) in shares)
            {
                tx.AdoptPlacement(result.Snapshot);
                foreach (var placement in result.Placements)
                {
                    var task = TaskLifecycle.Create(tx, definition, placement, group, command.StartedBy, launchType, command.ClientToken, command.Overrides, command.EnableExecuteCommand, groups, provider, subnets);
                    tx.AddTask(task);
                    created.Add(view(task));
                }

                // ECS: no host had room, and the provider's managed scaling is to make some: the tasks wait in
                // PROVISIONING (answered as tasks, not failures) and are placed as hosts arrive (ProvisioningPass).
                for (var i = 0; i < waiting; i++)
                {
                    var task = TaskLifecycle.CreateProvisioning(tx, definition, group, command.StartedBy, launchType, command.ClientToken, command.Overrides, command.EnableExecuteCommand, groups, provider, reason, subnets);
                    task.WaitingStrategy = command.PlacementStrategy;
                    task.WaitingConstraints = command.PlacementConstraints;
                    tx.AddTask(task);
                    created.Add(view(task));
                }

                failures.AddRange(result.Failures.Select(f => new Failure(f.InstanceId is { } id ? Arns.ContainerInstance(cluster, id) : "", f.Reason, f.Detail)));
            }

            return (created, failures);
        });
    }

    public Task<T> StopTaskAsync<T>(string clusterReference, string taskReference, string reason, Func<TaskRecord, T> view)
    {
        var cluster = Arns.ClusterName(clusterReference);
        if (reason.Length > 255)
        {
            throw StateException.Invalid("reason must be at most 255 characters.");
        }

        return kernel.CommitAsync(cluster, tx =>
        {
            tx.Cluster.RequireActive();
            if (!tx.Cluster.Tasks.TryGetValue(Arns.Id(taskReference), out var task))
            {
                throw StateException.NotFound($"Task '{taskReference}' not found in cluster '{cluster}'.");
            }

            var why = string.IsNullOrEmpty(reason) ? "Task stopped by user" : reason;
            // A service's task behind load balancers drains first (ECS deregisters it and waits for the deregistration
            // delay before the stop is sent); it stays RUNNING until then and is stopped with this reason.
            if (task.DesiredStatus != LifecycleStatus.Stopped && !ServiceTargets.DrainBeforeUserStop(tx, task, why, logger))
            {
                TaskLifecycle.RequestStop(tx, task, StopCode.UserInitiated, why);
            }

            return view(task);
        });
    }

    public (List<T> Found, List<Failure> Failures) Describe<T>(string clusterReference, IEnumerable<string> references, Func<TaskRecord, T> view)
    {
        var cluster = Arns.ClusterName(clusterReference);
        return kernel.ReadCluster(cluster, state =>
        {
            RequireActive(state, cluster);
            var found = new List<T>();
            var failures = new List<Failure>();
            foreach (var reference in references)
            {
                if (state!.Tasks.TryGetValue(Arns.Id(reference), out var task))
                {
                    found.Add(view(task));
                }
                else
                {
                    failures.Add(new Failure(reference, "MISSING", $"Task '{reference}' not found in cluster '{cluster}'."));
                }
            }

            return (found, failures);
        });
    }

    public (IReadOnlyList<string> Arns, string NextToken) List(ListTasksQuery query)
    {
        var cluster = Arns.ClusterName(query.Cluster);
        var desired = query.DesiredStatus == LifecycleStatus.Unspecified ? LifecycleStatus.Running : query.DesiredStatus;
        if (desired is not (LifecycleStatus.Running or LifecycleStatus.Stopped or LifecycleStatus.Pending))
        {
            throw StateException.Invalid("desired_status must be RUNNING, PENDING or STOPPED.");
        }

        return kernel.ReadCluster(cluster, state =>
        {
            RequireActive(state, cluster);
            IEnumerable<TaskRecord> candidates;
            if (!string.IsNullOrEmpty(query.ContainerInstance))
            {
                var instance = state!.Instance(query.ContainerInstance);
                // An instance's non-stopped tasks are indexed; stopped ones need the scan.
                candidates = desired == LifecycleStatus.Stopped ? state.Tasks.Values.Where(t => t.InstanceId == instance.Id) : instance.Tasks;
            }
            else
            {
                candidates = state!.Tasks.Values;
            }

            var group = string.IsNullOrEmpty(query.ServiceName) ? null : "service:" + query.ServiceName;
            var matching = candidates
                .Where(t => t.Durable)
                .Where(t => desired switch
                {
                    // ECS: PENDING lists tasks whose desired status is RUNNING but that do not run yet.
                    // UNKNOWN tasks (on a lost host) may be running: they list as RUNNING only.
                    LifecycleStatus.Pending => t.DesiredStatus == LifecycleStatus.Running && t.LastStatus is not (LifecycleStatus.Running or LifecycleStatus.Unknown),
                    _ => t.DesiredStatus == desired,
                })
                .Where(t => string.IsNullOrEmpty(query.Family) || t.Definition.Family == query.Family)
                .Where(t => group is null || t.Group == group)
                .Where(t => string.IsNullOrEmpty(query.StartedBy) || t.StartedBy == query.StartedBy)
                .OrderBy(t => t.Id, StringComparer.Ordinal);
            var (page, next) = Paging.Page(matching, query.MaxResults, query.NextToken, t => t.Id);
            return ((IReadOnlyList<string>)page.Select(t => t.Arn).ToList(), next);
        });
    }

    /// <summary>Counts the tasks in memory across clusters (diagnostics and benchmarks).</summary>
    public int Count() => kernel.ClusterNames.Sum(name => kernel.ReadCluster(name, c => c?.Tasks.Count ?? 0));

    private static void RequireActive(ClusterState? state, string cluster)
    {
        if (state?.IsActive != true)
        {
            throw StateException.NotFound($"Cluster '{cluster}' not found.");
        }
    }

    private static void Limit(string? value, int max, string field)
    {
        if (value is null)
        {
            return;
        }

        if (value.Length > max)
        {
            throw StateException.Invalid($"{field} must be at most {max} characters.");
        }

        foreach (var c in value)
        {
            if (char.IsControl(c))
            {
                throw StateException.Invalid($"{field} must not contain control characters.");
            }
        }
    }
}

/// <summary>RunTask, as the scheduler takes it.</summary>
internal sealed record RunTaskCommand
{
    public string Cluster { get; init; } = "";

    public string TaskDefinition { get; init; } = "";

    public int Count { get; init; }

    public string Group { get; init; } = "";

    public string StartedBy { get; init; } = "";

    public TaskOverrides? Overrides { get; init; }

    public ImmutableArray<PlacementSpec> PlacementStrategy { get; init; } = [];

    public ImmutableArray<PlacementSpec> PlacementConstraints { get; init; } = [];

    public string LaunchType { get; init; } = "";

    /// <summary>ECS capacityProviderStrategy; empty: the launch type, or the cluster's default strategy when neither is given.</summary>
    public IReadOnlyList<StrategyItem> CapacityProviderStrategy { get; init; } = [];

    public string ClientToken { get; init; } = "";

    public bool EnableExecuteCommand { get; init; }

    /// <summary>networkConfiguration.awsvpcConfiguration.securityGroups (ids); empty: the cluster's default group.</summary>
    public ImmutableArray<string> SecurityGroups { get; init; } = [];

    /// <summary>networkConfiguration.awsvpcConfiguration.subnets (ids); empty: any zone.</summary>
    public ImmutableArray<string> Subnets { get; init; } = [];
}

/// <summary>ListTasks's filters.</summary>
internal sealed record ListTasksQuery
{
    public string Cluster { get; init; } = "";

    public string Family { get; init; } = "";

    public LifecycleStatus DesiredStatus { get; init; }

    public string ContainerInstance { get; init; } = "";

    public string StartedBy { get; init; } = "";

    public string ServiceName { get; init; } = "";

    public int MaxResults { get; init; }

    public string NextToken { get; init; } = "";
}
