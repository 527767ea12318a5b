using System.Collections.Immutable;
using Berth.Core.TaskDefinitions;
using Berth.Scheduler.Placement;
using Berth.Scheduler.State.Persistence;
using Berth.Scheduler.V1;
using TaskDefinition = Berth.Core.TaskDefinitions.TaskDefinition;
using System.Text.Json;
using System.Threading.Channels;

namespace Berth.Scheduler.State;

/// <summary>
/// The scheduler's state: clusters, task definitions, container instances and tasks, held in memory with the indexes
/// reads and placement need, and written through to <see cref="ISchedulerStore"/> before any change is acknowledged.
/// </summary>
/// <remarks>
/// One lock guards everything. Each operation takes it, changes memory, and queues its rows to the store while still
/// holding it, so the database sees changes in the order memory made them; it then awaits durability outside the lock,
/// and only then tells agents or answers the caller. Placement happens under the same lock against the cluster's
/// current snapshot, and the successor snapshot (with the new reservations) becomes current before the lock is
/// released: two RunTask calls can never both take the same resources. A commit that fails leaves memory ahead of
/// the database, so the process stops (and a restart reloads the durable truth) rather than serve a state that a
/// crash would forget.
/// </remarks>
internal sealed partial class SchedulerState(
    ISchedulerStore store,
    PlacementEngine engine,
    TimeProvider time,
    IHostApplicationLifetime lifetime,
    ILogger<SchedulerState> logger)
{
    private readonly Lock _gate = new();
    private readonly TaskCompletionSource _loaded = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private readonly Dictionary<string, ClusterRecord> _clusters = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ClusterSnapshot> _snapshots = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<TaskDefinitionRecord>> _families = new(StringComparer.Ordinal);
    private readonly Dictionary<string, InstanceRecord> _instances = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TaskRecord> _tasks = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<TaskRecord>> _tasksByClientToken = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ServiceRecord> _services = new(StringComparer.Ordinal);

    // Tasks that were STOPPED (desired and last status) at start-up, still as rows: nothing pushes, places or counts
    // them, so decoding a restart's worth of them would only cost time and memory. A row becomes a record the first
    // time a read or an agent report names it (see TryGetTaskLocked); the database already holds exactly this row.
    private readonly Dictionary<string, TaskRow> _stoppedRows = new(StringComparer.Ordinal);
    private readonly StringPool _lazyStrings = new();
    private Dictionary<string, TaskDefinitionRecord> _loadedDefinitions = new(StringComparer.Ordinal);

    // Global sequence for desired-state versions; only grows, and starts above everything persisted.
    private long _seq;

    /// <summary>Raised (outside the lock) after changes to instances' desired sets are durable.</summary>
    public event Action<IReadOnlyCollection<string>>? DesiredStateChanged;

    /// <summary>Completes when the state has been loaded from the store.</summary>
    public Task WhenLoaded => _loaded.Task;

    public PlacementEngine Engine => engine;

    /// <summary>Woken by every change a service may care about; the service reconciler waits on it.</summary>
    public ReconcileSignal ReconcileSignal { get; } = new();

    // Milliseconds, as stored: a time read back after a restart equals the one answered before it.
    private DateTimeOffset Now => DateTimeOffset.FromUnixTimeMilliseconds(time.GetUtcNow().ToUnixTimeMilliseconds());

    /// <summary>Migrates the database and loads every record; callers wait on <see cref="WhenLoaded"/>.</summary>
    public async Task LoadAsync(CancellationToken cancellationToken)
    {
        try
        {
            var started = time.GetTimestamp();
            await store.MigrateAsync(cancellationToken);
            var migrated = time.GetElapsedTime(started);
            var clusters = await store.ReadClustersAsync(cancellationToken);
            var definitions = await store.ReadTaskDefinitionsAsync(cancellationToken);
            var instances = await store.ReadInstancesAsync(cancellationToken);
            var services = await store.ReadServicesAsync(cancellationToken);
            var count = 0;
            lock (_gate)
            {
                foreach (var row in clusters)
                {
                    _clusters[row.Name] = new ClusterRecord { Name = row.Name, Status = row.Status, CreatedAt = DateTimeOffset.FromUnixTimeMilliseconds(row.CreatedAtMs) };
                }

                foreach (var row in definitions)
                {
                    var definition = TaskDefinitionJson.ParseStored(row.Json);
                    AddDefinition(new TaskDefinitionRecord
                    {
                        Family = row.Family,
                        Revision = row.Revision,
                        Definition = definition,
                        Json = row.Json,
                        Requirements = RequirementsOf(definition),
                        Arn = Arns.TaskDefinition(row.Family, row.Revision),
                        Status = row.Status,
                        RegisteredAt = DateTimeOffset.FromUnixTimeMilliseconds(row.RegisteredAtMs),
                        DeregisteredAt = row.DeregisteredAtMs is { } d ? DateTimeOffset.FromUnixTimeMilliseconds(d) : null,
                    });
                }

                foreach (var row in instances)
                {
                    var instance = new InstanceRecord
                    {
                        Id = row.Id,
                        Cluster = row.Cluster,
                        CredentialHash = row.CredentialHash,
                        Status = (ContainerInstanceStatus)row.Status,
                        RegisteredAt = DateTimeOffset.FromUnixTimeMilliseconds(row.RegisteredAtMs),
                        Facts = HostFacts.Parser.ParseFrom(row.Facts),
                        DesiredSeq = row.DesiredSeq,
                        DesiredVersion = row.DesiredSeq,
                    };
                    foreach (var (name, value) in JsonSerializer.Deserialize<Dictionary<string, string>>(row.CustomAttributes) ?? [])
                    {
                        instance.CustomAttributes[name] = value;
                    }

                    _instances[row.Id] = instance;
                    _seq = Math.Max(_seq, row.DesiredSeq);
                }
            }

            // Nothing else runs before WhenLoaded completes; the lock is taken per batch only to keep the rule that
            // records change under it.
            var definitionsByArn = _families.Values.SelectMany(r => r).ToDictionary(d => d.Arn, StringComparer.Ordinal);
            _loadedDefinitions = definitionsByArn;
            // Reading rows and decoding them are split over threads: the reader alone keeps one core busy. Decoding
            // reads only what placement and counts need (definition, group, reservation, ports); a task's details
            // stay as its stored bytes until first used (TaskRecord.StoredInfo).
            // Rows travel in batches: a hand-over per row cost more in synchronization than the decoding it shared.
            var rows = Channel.CreateBounded<List<TaskRow>>(new BoundedChannelOptions(8) { SingleWriter = true });
            var decoders = Enumerable.Range(0, Math.Max(1, Environment.ProcessorCount)).Select(_ => Task.Run(async () =>
            {
                var pool = new StringPool();
                var batch = new List<TaskRecord>(LoadBatchSize);
                var decoded = 0;
                await foreach (var chunk in rows.Reader.ReadAllAsync(cancellationToken))
                {
                    foreach (var row in chunk)
                    {
                        if (TaskFromRow(row, pool, definitionsByArn) is { } task)
                        {
                            batch.Add(task);
                            decoded++;
                        }
                    }

                    AddLoaded(batch);
                }

                return decoded;
            }, cancellationToken)).ToList();
            var stopped = new List<TaskRow>();
            try
            {
                var chunk = new List<TaskRow>(LoadBatchSize);
                await foreach (var row in store.ReadTasksAsync(cancellationToken))
                {
                    // A client token's tasks answer idempotent RunTask retries from memory, so those are decoded.
                    if (row.DesiredStatus == (int)LifecycleStatus.Stopped && row.LastStatus == (int)LifecycleStatus.Stopped && row.ClientToken is null)
                    {
                        stopped.Add(row);
                        continue;
                    }

                    chunk.Add(row);
                    if (chunk.Count == LoadBatchSize)
                    {
                        await rows.Writer.WriteAsync(chunk, cancellationToken);
                        chunk = new List<TaskRow>(LoadBatchSize);
                    }
                }

                await rows.Writer.WriteAsync(chunk, cancellationToken);
            }
            finally
            {
                rows.Writer.TryComplete();
            }

            count = (await Task.WhenAll(decoders)).Sum();
            lock (_gate)
            {
                foreach (var row in stopped)
                {
                    _stoppedRows[row.Id] = row;
                    _seq = Math.Max(_seq, row.DesiredSeq);
                    if (_instances.TryGetValue(row.InstanceId, out var instance))
                    {
                        instance.DesiredVersion = Math.Max(instance.DesiredVersion, row.DesiredSeq);
                    }
                }
            }

            count += stopped.Count;

            lock (_gate)
            {
                LoadServicesLocked(services);
                foreach (var cluster in _clusters.Keys)
                {
                    _snapshots[cluster] = BuildSnapshot(cluster);
                }

                // Versions sent before the restart may be above anything persisted (see NextSeq): start every
                // instance at a version above all of them. Every agent gets a full lost-host grace period from now,
                // however long ago it was last heard of.
                var loadedAt = time.GetTimestamp();
                foreach (var instance in _instances.Values)
                {
                    instance.DesiredVersion = NextSeq();
                    instance.LastHeard = loadedAt;
                }
            }

            Log.Loaded(logger, _clusters.Count, _instances.Count, count, time.GetElapsedTime(started).TotalMilliseconds, migrated.TotalMilliseconds);
            _loaded.TrySetResult();
        }
        catch (Exception e)
        {
            _loaded.TrySetException(e);
            throw;
        }
    }

    /// <summary>Task rows per hand-over from the reader to the decoders at start-up.</summary>
    private const int LoadBatchSize = 2048;

    private void AddLoaded(List<TaskRecord> batch)
    {
        lock (_gate)
        {
            foreach (var task in batch)
            {
                _tasks[task.Id] = task;
                _seq = Math.Max(_seq, task.DesiredSeq);
                if (_instances.TryGetValue(task.InstanceId, out var instance))
                {
                    instance.DesiredVersion = Math.Max(instance.DesiredVersion, task.DesiredSeq);
                    if (task.LastStatus != LifecycleStatus.Stopped)
                    {
                        instance.Tasks.Add(task);
                    }
                }

                if (task.ClientToken is { } token)
                {
                    ClientTokenList(token).Add(task);
                }
            }
        }

        batch.Clear();
    }

    /// <summary>Finds a task by id, turning a stopped row kept from start-up into a record first. Under the lock.</summary>
    private bool TryGetTaskLocked(string id, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out TaskRecord? task)
    {
        if (_tasks.TryGetValue(id, out task))
        {
            return true;
        }

        if (!_stoppedRows.Remove(id, out var row))
        {
            return false;
        }

        task = TaskFromRow(row, _lazyStrings, _loadedDefinitions);
        if (task is null)
        {
            return false;
        }

        _tasks[id] = task;
        return true;
    }

    /// <summary>Every task, stopped rows kept from start-up turned into records first. Under the lock.</summary>
    private Dictionary<string, TaskRecord>.ValueCollection AllTasksLocked()
    {
        foreach (var id in _stoppedRows.Keys.ToList())
        {
            TryGetTaskLocked(id, out _);
        }

        return _tasks.Values;
    }

    private List<TaskRecord> ClientTokenList(string token)
    {
        if (!_tasksByClientToken.TryGetValue(token, out var list))
        {
            _tasksByClientToken[token] = list = [];
        }

        return list;
    }

    /// <summary>Builds a cluster's snapshot from the records, with every non-stopped task's reservation applied.</summary>
    private ClusterSnapshot BuildSnapshot(string cluster)
    {
        var views = new List<ContainerInstanceView>();
        foreach (var instance in _instances.Values)
        {
            if (instance.Cluster != cluster || instance.Status == ContainerInstanceStatus.Inactive)
            {
                continue;
            }

            var view = BaseView(instance);
            int cpu = 0, memory = 0;
            // One PortSet built from all ports at once: adding task by task would copy the set's pages per task.
            var ports = new List<HostPort>(view.UsedPorts);
            var groups = ImmutableDictionary.CreateBuilder<string, int>(StringComparer.Ordinal);
            foreach (var task in instance.Tasks)
            {
                cpu += task.Reservation.Cpu;
                memory += task.Reservation.Memory;
                ports.AddRange(task.Reservation.HostPorts);
                if (task.Reservation.Group is { } group)
                {
                    groups[group] = groups.GetValueOrDefault(group) + 1;
                }
            }

            views.Add(view with
            {
                RemainingCpu = view.RegisteredCpu - cpu,
                RemainingMemory = view.RegisteredMemory - memory,
                UsedPorts = PortSet.Of(ports),
                TaskGroupCounts = groups.ToImmutable(),
                RunningTasksCount = instance.Tasks.Count,
            });
        }

        return ClusterSnapshot.Create(cluster, views);
    }

    /// <summary>The placement view of an instance without any task.</summary>
    private static ContainerInstanceView BaseView(InstanceRecord instance)
    {
        var facts = instance.Facts;
        var reserved = facts.ReservedPorts.Select(p => new HostPort(p, TransportProtocol.Tcp))
            .Concat(facts.ReservedPortsUdp.Select(p => new HostPort(p, TransportProtocol.Udp)));
        return new ContainerInstanceView
        {
            InstanceId = instance.Id,
            Cluster = instance.Cluster,
            Status = instance.Status switch
            {
                ContainerInstanceStatus.Draining => InstanceStatus.Draining,
                ContainerInstanceStatus.Inactive => InstanceStatus.Inactive,
                _ => InstanceStatus.Active,
            },
            AgentConnected = instance.AgentConnected,
            AgentVersion = string.IsNullOrEmpty(facts.AgentVersion) ? null : facts.AgentVersion,
            RegisteredAt = instance.RegisteredAt,
            Attributes = AttributesOf(instance).ToImmutableDictionary(a => a.Key, a => (string?)a.Value, StringComparer.Ordinal),
            RegisteredCpu = facts.Cpu,
            RegisteredMemory = facts.Memory,
            RemainingCpu = facts.Cpu,
            RemainingMemory = facts.Memory,
            UsedPorts = PortSet.Of(reserved),
        };
    }

    /// <summary>Replaces an instance's view in its cluster snapshot, keeping what its tasks reserve.</summary>
    private void RefreshView(InstanceRecord instance)
    {
        // Every change of an instance's placement view (status, agent connected, attributes) may matter to a service.
        ReconcileSignal.Wake();
        var snapshot = Snapshot(instance.Cluster);
        if (instance.Status == ContainerInstanceStatus.Inactive)
        {
            _snapshots[instance.Cluster] = snapshot.WithoutInstance(instance.Id);
            return;
        }

        var current = snapshot.Find(instance.Id);
        var fresh = BaseView(instance);
        if (current is null)
        {
            // New (or reactivated) instance: rebuild its task aggregates from the records.
            _snapshots[instance.Cluster] = snapshot.WithInstance(fresh);
            foreach (var task in instance.Tasks)
            {
                _snapshots[instance.Cluster] = _snapshots[instance.Cluster].WithTaskStarted(instance.Id, task.Reservation);
            }

            return;
        }

        _snapshots[instance.Cluster] = snapshot.WithInstance(current with
        {
            Status = fresh.Status,
            AgentConnected = fresh.AgentConnected,
            AgentVersion = fresh.AgentVersion,
            Attributes = fresh.Attributes,
            RegisteredCpu = fresh.RegisteredCpu,
            RegisteredMemory = fresh.RegisteredMemory,
            RemainingCpu = current.RemainingCpu + (fresh.RegisteredCpu - current.RegisteredCpu),
            RemainingMemory = current.RemainingMemory + (fresh.RegisteredMemory - current.RegisteredMemory),
        });
    }

    private ClusterSnapshot Snapshot(string cluster)
    {
        if (!_snapshots.TryGetValue(cluster, out var snapshot))
        {
            _snapshots[cluster] = snapshot = ClusterSnapshot.Create(cluster, []);
        }

        return snapshot;
    }

    /// <summary>Built-in attributes from the host facts, then custom ones; names canonical (<c>berth.*</c>).</summary>
    internal static SortedDictionary<string, string> AttributesOf(InstanceRecord instance)
    {
        var facts = instance.Facts;
        var attributes = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["berth.os-type"] = string.IsNullOrEmpty(facts.OsType) ? "linux" : facts.OsType,
            ["berth.cpu-architecture"] = string.IsNullOrEmpty(facts.CpuArchitecture) ? "x86_64" : facts.CpuArchitecture,
        };
        if (!string.IsNullOrEmpty(facts.Zone))
        {
            attributes["berth.zone"] = facts.Zone;
        }

        if (!string.IsNullOrEmpty(facts.InstanceType))
        {
            attributes["berth.instance-type"] = facts.InstanceType;
        }

        foreach (var (name, value) in instance.CustomAttributes)
        {
            attributes[name] = value;
        }

        return attributes;
    }

    /// <summary>
    /// The next desired-state sequence number: above every one issued before, in this process or (being at least
    /// the clock in microseconds) in any earlier one, so versions keep growing across restarts without persisting
    /// every version bump. Called under the lock.
    /// </summary>
    private long NextSeq()
    {
        _seq = Math.Max(_seq + 1, time.GetUtcNow().ToUnixTimeMilliseconds() * 1000);
        return _seq;
    }

    /// <summary>Queues rows while holding the lock, so the database sees changes in memory's order.</summary>
    private Task Queue(ChangeSet changes)
    {
        if (!_gate.IsHeldByCurrentThread)
        {
            throw new InvalidOperationException("Rows must be queued under the state lock.");
        }

        if (!changes.IsEmpty)
        {
            ReconcileSignal.Wake();
        }

        return store.CommitAsync(changes, CancellationToken.None);
    }

    /// <summary>Waits until queued rows are durable; a failure stops the process (see the class remarks).</summary>
    private async Task DurableAsync(Task commit)
    {
        try
        {
            await commit;
        }
        catch (Exception e)
        {
            Log.CommitFailedStopping(logger, e);
            lifetime.StopApplication();
            throw new StateException(StateError.Unavailable, "The change could not be stored; the scheduler is restarting.");
        }
    }

    private void Notify(HashSet<string> instanceIds)
    {
        if (instanceIds.Count > 0)
        {
            DesiredStateChanged?.Invoke(instanceIds);
        }
    }

    internal static TaskRequirements RequirementsOf(TaskDefinition definition)
    {
        int? taskCpu = TaskResources.TryParseCpu(definition.Cpu, out var cpu) ? cpu : null;
        int? taskMemory = TaskResources.TryParseMemory(definition.Memory, out var memory) ? memory : null;
        var hostMode = definition.NetworkMode is "host" or "awsvpc";
        var containers = (definition.ContainerDefinitions ?? []).Select(c => new ContainerRequirements(
            c.Name ?? "",
            c.Cpu ?? 0,
            c.Memory,
            c.MemoryReservation,
            (c.PortMappings ?? []).Select(p => new PortRequest(
                c.Name ?? "",
                p.ContainerPort ?? 0,
                // In host and awsvpc modes the container port is the host port (ECS).
                hostMode ? p.ContainerPort ?? 0 : p.HostPort ?? 0,
                p.EffectiveProtocol == "udp" ? TransportProtocol.Udp : TransportProtocol.Tcp)).ToList()));
        return TaskRequirements.FromContainers(taskCpu, taskMemory, containers);
    }

    private sealed class StringPool
    {
        private readonly Dictionary<string, string> _pool = new(StringComparer.Ordinal);
        private readonly Dictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> _spans;

        public StringPool() => _spans = _pool.GetAlternateLookup<ReadOnlySpan<char>>();

        public string Intern(string value)
        {
            if (value.Length == 0)
            {
                return "";
            }

            if (_pool.TryGetValue(value, out var pooled))
            {
                return pooled;
            }

            _pool[value] = value;
            return value;
        }

        /// <summary>As <see cref="Intern(string)"/>, allocating only for a value not seen before.</summary>
        public string Intern(ReadOnlySpan<char> value)
        {
            if (value.IsEmpty)
            {
                return "";
            }

            if (_spans.TryGetValue(value, out var pooled))
            {
                return pooled;
            }

            var text = value.ToString();
            _pool[text] = text;
            return text;
        }
    }
}
