using System.Text.RegularExpressions;
using Berth.Agent.Configuration;
using Berth.Agent.Isolation;
using Berth.Agent.Networking;
using Berth.Agent.Runtime;
using Berth.Core.Concurrency;
using Microsoft.Extensions.Options;

namespace Berth.Agent.Tasks;

/// <summary>
/// Converges the host's containers to the scheduler's desired task set. Level-triggered: every pass lists the
/// agent's containers (by label), updates each task's record, asks <see cref="TaskPlanner"/> what to do, and
/// runs the actions in the background, one task at a time each. Triggered by a new desired set, by engine
/// events, by finished actions and by a periodic timer; a missed trigger costs one interval, never correctness.
/// </summary>
internal sealed partial class TaskEngine(
    IContainerRuntime runtime,
    ImageStore images,
    StoppedTaskRetention retention,
    TaskNetworking networking,
    TaskCgroups cgroups,
    SandboxImage sandboxImage,
    IOptions<AgentOptions> options,
    TimeProvider time,
    ILogger<TaskEngine> logger)
{
    /// <summary>How long the engine's runtime list is trusted (a HUP of dockerd can register runsc meanwhile).</summary>
    private static readonly TimeSpan s_engineInfoLifetime = TimeSpan.FromMinutes(1);

    private readonly Lock _lock = new();
    private readonly Dictionary<string, TaskRecord> _tasks = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TaskStatusReport> _reports = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Task> _actions = new(StringComparer.Ordinal);
    private readonly ChangeSignal _reportsChanged = new();
    private readonly ChangeSignal _kick = new();
    private long _desiredVersion;
    private bool _desiredReceived;
    private ulong _lastSequence;
    private bool _engineDown;
    private bool _adopted;
    private (DateTimeOffset Start, DateTimeOffset? End)? _lastOutage;
    private (EngineInfo Info, DateTimeOffset At)? _engineInfo;
    private readonly HashSet<string> _orphanDetaches = new(StringComparer.Ordinal);

    /// <summary>The newest desired-state version applied; 0 before the first.</summary>
    public long DesiredVersion
    {
        get
        {
            lock (_lock)
            {
                return _desiredVersion;
            }
        }
    }

    /// <summary>Completes on the next change of any task report.</summary>
    public Task ReportsChanged => _reportsChanged.Next;

    /// <summary>Completes when something asks for a reconcile pass.</summary>
    public Task KickRequested => _kick.Next;

    public bool EngineAvailable
    {
        get
        {
            lock (_lock)
            {
                return !_engineDown;
            }
        }
    }

    /// <summary>Asks for a reconcile pass soon.</summary>
    public void Kick() => _kick.Notify();

    /// <summary>
    /// Takes a desired set if it is newer than the last one. Tasks it does not list (or lists as STOPPED) are
    /// stopped; nothing else ever stops a task, so an unreachable scheduler stops nothing.
    /// </summary>
    public bool ApplyDesired(DesiredTaskSet desired)
    {
        lock (_lock)
        {
            if (_desiredReceived && desired.Version <= _desiredVersion)
            {
                return false;
            }

            _desiredVersion = desired.Version;
            _desiredReceived = true;

            // The host network first: the tasks dispatched below may attach to it at once.
            networking.SetDesired(desired.HostNetwork, desired.SecurityGroups, desired.ServiceDiscovery);
            foreach (var warning in desired.Warnings)
            {
                LogDesiredWarning(logger, desired.Version, warning);
            }

            var listed = desired.InstanceInactive ? [] : desired.Tasks.ToDictionary(t => t.TaskId, StringComparer.Ordinal);
            var fresh = new List<TaskRecord>();
            foreach (var spec in listed.Values)
            {
                if (!_tasks.TryGetValue(spec.TaskId, out var record))
                {
                    _tasks[spec.TaskId] = record = new TaskRecord(spec.TaskId);
                    fresh.Add(record);
                }

                record.Spec = spec;
                record.Wanted = true;
            }

            // After the first pass every container of ours is known (adopted), so a task we have no record of has
            // no containers: start it now instead of after a full pass over the engine. (Were one there after all,
            // its deterministic name makes the create collide with it and adopt it.)
            if (_adopted)
            {
                foreach (var record in fresh)
                {
                    Dispatch(record);
                }

                PublishReports();
            }

            foreach (var record in _tasks.Values.Where(r => !listed.ContainsKey(r.TaskId)))
            {
                record.Wanted = false;
            }

            LogDesiredApplied(logger, desired.Version, listed.Count);
        }

        Kick();
        return true;
    }

    /// <summary>The scheduler does not know these tasks (ReportAck): stop them and forget them.</summary>
    public void ForgetUnknown(IEnumerable<string> taskIds)
    {
        lock (_lock)
        {
            foreach (var id in taskIds)
            {
                if (_tasks.TryGetValue(id, out var record))
                {
                    record.Wanted = false;
                }
            }
        }

        Kick();
    }

    /// <summary>The current report of every task the agent knows.</summary>
    public IReadOnlyList<TaskStatusReport> Snapshot()
    {
        lock (_lock)
        {
            return _reports.Values.OrderBy(r => r.TaskId, StringComparer.Ordinal).ToList();
        }
    }

    /// <summary>Every task with a running container, and the runtime ids of its running containers (the stats sampler).</summary>
    public IReadOnlyList<(string TaskId, IReadOnlyList<string> ContainerIds)> RunningContainers()
    {
        lock (_lock)
        {
            var running = new List<(string, IReadOnlyList<string>)>();
            foreach (var record in _tasks.Values)
            {
                var ids = record.Observed.Values.Where(c => c.State == ContainerRunState.Running).Select(c => c.Id).ToList();
                if (ids.Count > 0)
                {
                    running.Add((record.TaskId, ids));
                }
            }

            return running;
        }
    }

    /// <summary>The spec the scheduler last gave a task, or null (unknown, or adopted and not yet listed).</summary>
    public TaskSpec? SpecOf(string taskId)
    {
        lock (_lock)
        {
            return _tasks.GetValueOrDefault(taskId)?.Spec;
        }
    }

    /// <summary>The engine stopped answering: remember when, so containers that die meanwhile get the reason.</summary>
    public void MarkEngineDown(string why)
    {
        lock (_lock)
        {
            if (_engineDown)
            {
                return;
            }

            _engineDown = true;
            _lastOutage = (time.GetUtcNow(), null);
        }

        LogEngineDown(logger, why);
    }

    public void MarkEngineUp()
    {
        lock (_lock)
        {
            if (!_engineDown)
            {
                return;
            }

            _engineDown = false;
            _lastOutage = (_lastOutage!.Value.Start, time.GetUtcNow());
        }

        LogEngineUp(logger);
        Kick();
    }

    /// <summary>One pass: observe the engine, adopt unknown containers of this agent's scope, decide, dispatch.</summary>
    public async Task ReconcileAsync(CancellationToken cancellationToken)
    {
        // Which actions had finished when the listing began: a record whose action finished later holds a fresher view
        // (the launch inspected what it started) than the listing, which may predate its containers.
        Dictionary<string, long> generations;
        lock (_lock)
        {
            generations = _tasks.Values.ToDictionary(r => r.TaskId, r => r.Generation, StringComparer.Ordinal);
        }

        // Read the addresses before the containers: an address handed out after this read belongs to a sandbox that
        // the listing below may miss, and must not be taken for an orphan.
        var attachments = networking.ReadAttachments();
        IReadOnlyList<ContainerDetails> containers;
        try
        {
            containers = await runtime.ListContainersAsync(new Dictionary<string, string> { [ContainerLabels.Agent] = options.Value.Scope }, cancellationToken);
        }
        catch (EngineUnavailableException ex)
        {
            MarkEngineDown(ex.Message);
            return;
        }

        MarkEngineUp();
        lock (_lock)
        {
            // A stopped task kept for its cleanup wait is no live task: never adopted, never reported again.
            var byTask = containers
                .Where(c => c.Labels.ContainsKey(ContainerLabels.TaskId) && c.Labels.ContainsKey(ContainerLabels.ContainerName))
                .Where(c => !retention.IsRetained(c.Labels[ContainerLabels.TaskId]))
                .GroupBy(c => c.Labels[ContainerLabels.TaskId], StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
            foreach (var taskId in byTask.Keys.Where(id => !_tasks.ContainsKey(id)))
            {
                // Adoption: a container of ours that we hold no record of (we restarted). Without a desired set yet
                // we only watch it; once a desired set has come, one that does not list it stops it.
                _tasks[taskId] = new TaskRecord(taskId) { Wanted = !_desiredReceived };
                generations[taskId] = 0;
                LogAdopted(logger, taskId, byTask[taskId].Count);
            }

            var stale = false;
            foreach (var record in _tasks.Values)
            {
                if (record.Busy)
                {
                    continue;
                }

                if (!generations.TryGetValue(record.TaskId, out var generation) || generation != record.Generation)
                {
                    // Changed while the engine was listed: this listing is older than what the record knows. Next pass.
                    stale = true;
                    continue;
                }

                record.Observed.Clear();
                foreach (var c in byTask.GetValueOrDefault(record.TaskId) ?? [])
                {
                    var name = c.Labels[ContainerLabels.ContainerName];
                    record.Observed[name] = c;
                    record.Launched.Add(name);
                    NoteDeathReason(record, name, c);
                }

                foreach (var name in record.Launched.Where(n => !record.Observed.ContainsKey(n)))
                {
                    record.ContainerReasons.TryAdd(name, "ContainerMissing: the container was removed outside the agent");
                }

                // After a restart the sandbox's address is read back from CNI's store. A known one is never cleared
                // here (this read may be older than an attach that just finished); only a detach clears it.
                if (record.Attachment is null && record.Sandbox is { } sandbox && attachments.TryGetValue(sandbox.Id, out var attachment))
                {
                    record.Attachment = record.LastAttachment = attachment;
                    record.AttachedSandboxId = sandbox.Id;
                }

                Dispatch(record);
            }

            _adopted = true;
            PublishReports();
            if (stale)
            {
                Kick();
            }

            // Addresses whose sandbox is gone from the engine altogether (removed while the agent was down): free them.
            var present = containers.Select(c => c.Id).ToHashSet(StringComparer.Ordinal);
            foreach (var orphan in attachments.Keys.Where(id => !present.Contains(id) && !_tasks.Values.Any(r => r.AttachedSandboxId == id) && _orphanDetaches.Add(id)))
            {
                _ = Task.Run(() => DetachOrphanAsync(orphan), CancellationToken.None);
            }
        }
    }

    private async Task DetachOrphanAsync(string sandboxId)
    {
        try
        {
            await networking.DetachAsync(sandboxId, 0, CancellationToken.None);
            LogOrphanReleased(logger, sandboxId[..Math.Min(12, sandboxId.Length)]);
        }
        catch (NetworkSetupException ex)
        {
            LogReleaseFailed(logger, sandboxId, ex.Message);
        }
        finally
        {
            lock (_lock)
            {
                _orphanDetaches.Remove(sandboxId);
            }
        }
    }

    /// <summary>Waits for background actions (tests and shutdown).</summary>
    public async Task WhenIdleAsync(CancellationToken cancellationToken)
    {
        Task[] pending;
        lock (_lock)
        {
            pending = [.. _actions.Values];
        }

        await Task.WhenAll(pending).WaitAsync(cancellationToken);
    }

    private void NoteDeathReason(TaskRecord record, string name, ContainerDetails c)
    {
        if (c.State == ContainerRunState.Exited && _lastOutage is { } outage && c.FinishedAt is { } finished
            && finished >= outage.Start - TimeSpan.FromSeconds(30) && (outage.End is null || finished <= outage.End + TimeSpan.FromSeconds(5)))
        {
            record.ContainerReasons.TryAdd(name, $"DockerEngineRestarted: the container died (exit code {c.ExitCode}) while the Docker engine was down");
        }
    }

    // Under _lock.
    private void Dispatch(TaskRecord record)
    {
        var decision = TaskPlanner.Decide(record);
        var now = time.GetUtcNow();
        if (decision.Phase != record.Phase)
        {
            LogPhase(logger, record.TaskId, record.Phase, decision.Phase, decision.StoppedReason ?? string.Empty);
        }

        record.Phase = decision.Phase;
        record.StopCode = decision.StopCode;
        record.StoppedReason = decision.StoppedReason;
        if (decision.Phase == LocalStatus.Running)
        {
            record.StartedAt ??= now;
        }

        if (decision.Phase == LocalStatus.Stopped)
        {
            record.StoppedAt ??= now;
        }

        if (decision.Launch.Count == 0 && decision.Stop.Count == 0 && !decision.Remove && !decision.ReleaseNetwork)
        {
            return;
        }

        record.Busy = true;
        var containers = record.Observed.ToDictionary();
        _actions[record.TaskId] = Task.Run(async () =>
        {
            try
            {
                await ExecuteAsync(record, decision, containers);
            }
            catch (EngineUnavailableException ex)
            {
                MarkEngineDown(ex.Message);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogActionFailed(logger, ex, record.TaskId);
            }
            finally
            {
                lock (_lock)
                {
                    record.Busy = false;
                    record.Generation++;
                    _actions.Remove(record.TaskId);
                    if (decision.Remove)
                    {
                        _tasks.Remove(record.TaskId);
                        _reports.Remove(record.TaskId);
                        LogForgotten(logger, record.TaskId);
                    }
                    else if (decision.Launch.Count > 0 || (decision.ReleaseNetwork && record.Attachment is null))
                    {
                        // The launch inspected what it started: decide and report now rather than after the next
                        // full pass (that is the latency between "started" and "reported RUNNING"). Stops wait for
                        // the pass their own engine events trigger.
                        Dispatch(record);
                        PublishReports();
                    }
                }

                Kick();
            }
        });
    }

    private async Task ExecuteAsync(TaskRecord record, TaskDecision decision, Dictionary<string, ContainerDetails> observed)
    {
        // Actions are not cancelled by the pass that started them: a half-done create is worse than a late one.
        var ct = CancellationToken.None;
        if (decision.ReleaseNetwork)
        {
            await ReleaseNetworkAsync(record, observed.GetValueOrDefault(ContainerSpec.SandboxName), ct);
        }

        if (decision.Remove)
        {
            // Stopped and no longer listed: its output is saved and its containers kept for the cleanup wait.
            await retention.RetainAsync(record.TaskId, observed.Values, record.StoppedAt ?? time.GetUtcNow(), ct);

            // Its cgroup goes now: the containers kept for the cleanup wait have stopped, so it holds no process.
            cgroups.Remove(record.TaskId);
            return;
        }

        await Task.WhenAll(decision.Stop.Select(async name =>
        {
            var timeout = record.Spec?.Containers.FirstOrDefault(c => c.Name == name)?.StopTimeout ?? options.Value.StopTimeout;
            LogStopping(logger, record.TaskId, name, timeout.TotalSeconds);
            await runtime.StopContainerAsync(observed[name].Id, timeout, ct);
            var details = await runtime.InspectContainerAsync(observed[name].Id, ct);
            lock (_lock)
            {
                if (details is null)
                {
                    record.Observed.Remove(name);
                }
                else
                {
                    record.Observed[name] = details;
                }
            }
        }));

        foreach (var name in decision.Launch)
        {
            if (!await LaunchAsync(record, record.Spec!.Containers.First(c => c.Name == name), observed.GetValueOrDefault(name), ct))
            {
                break;
            }
        }
    }

    private async Task<bool> LaunchAsync(TaskRecord record, ContainerSpec container, ContainerDetails? existing, CancellationToken ct)
    {
        var spec = record.Spec!;
        var id = existing?.Id;
        if (id is null)
        {
            if (container.IsSandbox)
            {
                try
                {
                    await sandboxImage.EnsureAsync(ct);
                }
                catch (Exception ex) when (ex is NetworkSetupException or ContainerRuntimeException)
                {
                    return Fail(record, container.Name, $"ResourceInitializationError: cannot make the sandbox image: {ex.Message}");
                }
            }
            else
            {
                try
                {
                    await images.EnsureAsync(container.Image, spec.Credentials, ct);
                }
                catch (ImagePullException ex)
                {
                    return Fail(record, container.Name, $"CannotPullContainerError: {ex.Message}");
                }
            }

            foreach (var mount in container.Mounts.Where(m => m.MustExist))
            {
                if (!await runtime.VolumeExistsAsync(mount.Source, ct))
                {
                    return Fail(record, container.Name, $"CannotCreateContainerError: shared volume '{mount.Source}' does not exist and autoprovision is off");
                }
            }

            LaunchContext context;
            try
            {
                context = await PrepareLaunchAsync(record, container, ct);
            }
            catch (Exception ex) when (ex is CgroupException or NetworkSetupException)
            {
                return Fail(record, container.Name, $"ResourceInitializationError: {ex.Message}");
            }

            var create = BuildCreateSpec(spec, container, context);
            try
            {
                id = await runtime.CreateContainerAsync(create, ct);
            }
            catch (ContainerRuntimeException ex)
            {
                // A name conflict with our own label is a container an earlier life of this agent created just
                // before it crashed: adopt it, never duplicate it.
                var same = ex.StatusCode == 409 ? await runtime.InspectContainerAsync(create.Name, ct) : null;
                if (same is null || same.Labels.GetValueOrDefault(ContainerLabels.Agent) != options.Value.Scope)
                {
                    return Fail(record, container.Name, $"CannotCreateContainerError: {ex.Message}");
                }

                id = same.Id;
            }

            lock (_lock)
            {
                record.Launched.Add(container.Name);
            }
        }

        try
        {
            await runtime.StartContainerAsync(id, ct);
        }
        catch (ContainerRuntimeException ex)
        {
            return Fail(record, container.Name, $"CannotStartContainerError: {ex.Message}");
        }

        var details = await runtime.InspectContainerAsync(id, ct);
        lock (_lock)
        {
            if (details is not null)
            {
                record.Observed[container.Name] = details;
            }
        }

        if (container.IsSandbox && !await AttachAsync(record, id, details, ct))
        {
            return false;
        }

        LogStarted(logger, record.TaskId, container.Name, id[..Math.Min(12, id.Length)]);
        return true;
    }

    /// <summary>
    /// Gives a started sandbox its address (CNI ADD into its namespace), then has the firewall take the task's rules
    /// before any of its containers starts: a task is never reachable beyond what its groups allow, not even briefly.
    /// </summary>
    private async Task<bool> AttachAsync(TaskRecord record, string sandboxId, ContainerDetails? details, CancellationToken ct)
    {
        try
        {
            var attachment = await networking.AttachAsync(sandboxId, details?.Pid ?? 0, ct);
            lock (_lock)
            {
                record.Attachment = record.LastAttachment = attachment;
                record.AttachedSandboxId = sandboxId;
                PublishEndpoints();
            }

            await networking.SyncAsync(force: false, ct);
            return true;
        }
        catch (NetworkSetupException ex)
        {
            return Fail(record, ContainerSpec.SandboxName, $"ResourceInitializationError: unable to configure the task's network: {ex.Message}");
        }
    }

    /// <summary>CNI DEL of a stopped task's sandbox: its address goes back to the pool (the report keeps it, marked released).</summary>
    private async Task ReleaseNetworkAsync(TaskRecord record, ContainerDetails? sandbox, CancellationToken ct)
    {
        string? sandboxId;
        lock (_lock)
        {
            sandboxId = record.AttachedSandboxId ?? sandbox?.Id;
        }

        try
        {
            // No sandbox id is known only for an attachment that never had one: nothing for CNI to release.
            if (sandboxId is not null)
            {
                await networking.DetachAsync(sandboxId, sandbox?.State == ContainerRunState.Running ? sandbox.Pid : 0, ct);
            }
        }
        catch (NetworkSetupException ex)
        {
            // Kept attached: the next reconcile pass decides to release it again.
            LogReleaseFailed(logger, record.TaskId, ex.Message);
            return;
        }

        lock (_lock)
        {
            record.Attachment = null;
            record.AttachedSandboxId = null;
            PublishEndpoints();
        }
    }

    /// <summary>What a container's create needs beyond its spec: the task's cgroup, the sandbox to join, the runtime, the DNS server.</summary>
    private async Task<LaunchContext> PrepareLaunchAsync(TaskRecord record, ContainerSpec container, CancellationToken ct)
    {
        var spec = record.Spec!;
        var cgroup = cgroups.Prepare(spec);
        string? sandboxId = null;
        string? gateway = null;
        if (spec.Awsvpc)
        {
            if (container.IsSandbox)
            {
                // The sandbox's resolv.conf (which its containers share) names the host's DNS server on the bridge.
                gateway = (networking.Spec ?? throw new NetworkSetupException("this host has no task subnet (the scheduler sends it; Awsvpc:TaskSubnet sets one)")).TaskSubnet.Gateway.ToString();
            }
            else
            {
                lock (_lock)
                {
                    sandboxId = record.Sandbox?.Id;
                }

                if (sandboxId is null)
                {
                    throw new NetworkSetupException("the task's sandbox is gone");
                }
            }
        }

        var runtimeName = container.IsSandbox ? null : await ResolveRuntimeAsync(spec, ct);
        return new LaunchContext(cgroup, sandboxId, gateway, runtimeName);
    }

    /// <summary>The scheduler's choice; for FARGATE tasks without one, <c>Fargate:Runtime</c> (<c>auto</c>: gVisor when the engine has it).</summary>
    private async Task<string?> ResolveRuntimeAsync(TaskSpec spec, CancellationToken ct)
    {
        if (spec.Runtime is not null)
        {
            return spec.Runtime;
        }

        if (!spec.Fargate)
        {
            return null;
        }

        var configured = options.Value.Fargate.Runtime;
        if (!string.Equals(configured, "auto", StringComparison.OrdinalIgnoreCase))
        {
            return configured;
        }

        EngineInfo info;
        lock (_lock)
        {
            info = _engineInfo is { } cached && time.GetUtcNow() - cached.At < s_engineInfoLifetime ? cached.Info : null!;
        }

        if (info is null)
        {
            info = await runtime.GetInfoAsync(ct);
            lock (_lock)
            {
                _engineInfo = (info, time.GetUtcNow());
            }
        }

        return info.Runtimes.Contains("runsc", StringComparer.Ordinal) ? "runsc" : null;
    }

    private bool Fail(TaskRecord record, string container, string reason)
    {
        lock (_lock)
        {
            record.Failures[container] = reason;
        }

        LogLaunchFailed(logger, record.TaskId, container, reason);
        return false;
    }

    internal ContainerCreateSpec BuildCreateSpec(TaskSpec task, ContainerSpec container, LaunchContext? context = null)
    {
        context ??= LaunchContext.None;
        var create = new ContainerCreateSpec
        {
            Name = ContainerName(task.TaskId, container.Name),
            Image = container.Image,
            Labels = new Dictionary<string, string>
            {
                [ContainerLabels.Agent] = options.Value.Scope,
                [ContainerLabels.TaskId] = task.TaskId,
                [ContainerLabels.TaskArn] = task.TaskArn,
                [ContainerLabels.Cluster] = task.Cluster,
                [ContainerLabels.ContainerName] = container.Name,
                [ContainerLabels.TaskDefinition] = task.TaskDefinition,
                [ContainerLabels.Essential] = container.Essential ? "true" : "false",
            },
            Environment = container.Environment,
            Command = container.Command,
            EntryPoint = container.EntryPoint,
            Ports = container.Ports,

            // ECS: cpu 0 means the minimum weight (2 shares), not Docker's default 1024.
            CpuShares = Math.Max(2, container.Cpu),

            // Task-level cpu is the task cgroup's quota; without a task cgroup each container gets it as a cap.
            NanoCpus = task.CpuLimit > 0 && context.CgroupParent is null ? task.CpuLimit * 1_000_000_000L / 1024 : 0,
            MemoryBytes = (container.Memory ?? 0) * 1024L * 1024,
            MemoryReservationBytes = (container.MemoryReservation ?? 0) * 1024L * 1024,
            HealthCheck = container.HealthCheck,
            NetworkMode = task.NetworkMode,
            Mounts = container.Mounts,
            Log = container.Log,
            CgroupParent = context.CgroupParent,
            Runtime = context.Runtime,
        };

        if (task.Awsvpc)
        {
            // The sandbox gets a network namespace with nothing in it (CNI wires it after start); the task's
            // containers join it, so they share its address, its localhost and its resolv.conf. Nothing is published.
            create = container.IsSandbox
                ? create with { NetworkMode = "none", Ports = [], Dns = context.DnsServer is { } dns ? [dns] : [] }
                : create with { NetworkMode = $"container:{context.SandboxId}", Ports = [] };
        }

        if (task.Fargate)
        {
            // FARGATE: namespaces of its own for processes and IPC, no privilege escalation, Docker's default
            // capabilities (FargatePolicy refused anything that asks for more).
            create = create with { IpcMode = "private", PidMode = string.Empty, NoNewPrivileges = true };
        }

        return create;
    }

    /// <summary>Deterministic, so a create retried after a crash collides with (and adopts) the first one.</summary>
    internal static string ContainerName(string taskId, string containerName) =>
        $"berth-{Sanitize(taskId)}-{Sanitize(containerName)}";

    private static string Sanitize(string value) => UnsafeNameChars().Replace(value, "_");

    // Under _lock. The firewall's view of the local awsvpc tasks (groups unknown for a task the scheduler has not described).
    private void PublishEndpoints() =>
        networking.SetEndpoints(_tasks.Values
            .Where(r => r.Attachment is not null)
            .Select(r => new TaskEndpoint(r.TaskId, r.Attachment!.Address, r.Spec?.SecurityGroups))
            .OrderBy(e => e.TaskId, StringComparer.Ordinal)
            .ToList());

    // Under _lock.
    private void PublishReports()
    {
        PublishEndpoints();
        var changed = false;
        foreach (var record in _tasks.Values)
        {
            var report = TaskStatusReport.From(record, 0);
            if (_reports.TryGetValue(record.TaskId, out var last) && last.Fingerprint() == report.Fingerprint())
            {
                continue;
            }

            // Sequences grow across agent restarts too: they start from the clock (microseconds).
            var micros = (ulong)(time.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks / 10;
            _lastSequence = Math.Max(_lastSequence + 1, micros);
            _reports[record.TaskId] = report with { Sequence = _lastSequence };
            LogReport(logger, record.TaskId, report.Status, report.Health);

            changed = true;
        }

        if (changed)
        {
            _reportsChanged.Notify();
        }
    }

    [GeneratedRegex("[^a-zA-Z0-9_.-]")]
    private static partial Regex UnsafeNameChars();
}

/// <summary>What a container's create needs beyond its spec (see <see cref="TaskEngine.BuildCreateSpec"/>).</summary>
/// <param name="CgroupParent">The task's cgroup, or null (no task-level limits, or no cgroup v1 here).</param>
/// <param name="SandboxId">awsvpc: the sandbox container whose network namespace the container joins.</param>
/// <param name="DnsServer">awsvpc sandbox: the nameserver for its resolv.conf (the host's DNS server on the bridge).</param>
/// <param name="Runtime">The OCI runtime, or null for the engine's default.</param>
internal sealed record LaunchContext(string? CgroupParent, string? SandboxId, string? DnsServer, string? Runtime)
{
    public static readonly LaunchContext None = new(null, null, null, null);
}
