using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Berth.Scheduler.Kernel;
using Berth.Scheduler.Placement;
using Microsoft.Data.Sqlite;

namespace Berth.Scheduler.Persistence;

// Start-up: every row into the kernel's records.
internal sealed partial class SqliteSchedulerStore
{
    /// <summary>Task rows per hand-over from the reader to the decoders at start-up.</summary>
    private const int LoadBatchSize = 2048;

    public async Task LoadAsync(IStateSink sink, CancellationToken cancellationToken)
    {
        // Loaded tasks keep their details as this store's documents until first used.
        TaskRecord.StoredDetailsDecoder = StoredForm.DecodeDetails;
        var visibleSinceMs = sink.VisibleSince.ToUnixTimeMilliseconds();
        await using (var connection = await OpenConnectionAsync(cancellationToken))
        {
            await foreach (var row in ReadAsync(connection, "SELECT Name, Status, CreatedAtMs, TaskCidr, CapacityProviders FROM clusters", r => new ClusterRow { Name = r.GetString(0), Status = r.GetString(1), CreatedAtMs = r.GetInt64(2), TaskCidr = r.IsDBNull(3) ? null : r.GetString(3), CapacityProviders = r.IsDBNull(4) ? null : (byte[])r.GetValue(4) }, cancellationToken))
            {
                sink.AddCluster(StoredForm.FromRow(row));
            }

            const string Definitions = "SELECT Family, Revision, Status, Json, RegisteredAtMs, DeregisteredAtMs FROM task_definitions ORDER BY Family, Revision";
            await foreach (var row in ReadAsync(connection, Definitions, ReadDefinition, cancellationToken))
            {
                sink.AddDefinition(StoredForm.FromRow(row));
            }

            const string Instances = "SELECT Id, Cluster, Status, CredentialHash, RegisteredAtMs, DeregisteredAtMs, DesiredSeq, HostFacts, CustomAttributes, TaskSubnet, HostAddress FROM instances " +
                "WHERE DeregisteredAtMs IS NULL OR DeregisteredAtMs >= $since";
            await foreach (var row in ReadAsync(connection, Instances, ReadInstance, cancellationToken, visibleSinceMs))
            {
                sink.AddInstance(StoredForm.FromRow(row));
            }
        }

        await LoadTasksAsync(sink, visibleSinceMs, cancellationToken);

        await using (var connection = await OpenConnectionAsync(cancellationToken))
        {
            const string Services = "SELECT Cluster, Name, Status, ClientToken, InactiveAtMs, Document FROM services WHERE InactiveAtMs IS NULL OR InactiveAtMs >= $since";
            await foreach (var row in ReadAsync(connection, Services, ReadService, cancellationToken, visibleSinceMs))
            {
                var document = StoredDocuments.DecodeService(row.Document ?? throw new InvalidDataException($"Service {row.Cluster}/{row.Name} has no document."));
                if (document.Deployments is not { Count: > 0 })
                {
                    Log.ServiceWithoutDeployment(_logger, row.Cluster, row.Name);
                    continue;
                }

                var primary = document.Deployments[0].TaskDefinition ?? "";
                if (sink.FindDefinition(primary) is not { } definition)
                {
                    Log.ServiceWithoutDefinition(_logger, row.Cluster, row.Name, primary);
                    continue;
                }

                sink.AddService(StoredForm.FromRow(row, definition, document));
            }

            const string Certificates = "SELECT Arn, Document FROM certificates";
            await foreach (var row in ReadAsync(connection, Certificates, r => new CertificateRow { Arn = r.GetString(0), Document = (byte[])r.GetValue(1) }, cancellationToken))
            {
                sink.AddCertificate(StoredCertificates.FromRow(row));
            }

            const string LoadBalancing = "SELECT Arn, Cluster, Kind, Document FROM load_balancing";
            await foreach (var row in ReadAsync(connection, LoadBalancing, r => new LoadBalancingRow { Arn = r.GetString(0), Cluster = r.GetString(1), Kind = r.GetInt32(2), Document = (byte[])r.GetValue(3) }, cancellationToken))
            {
                sink.AddLoadBalancing(StoredForm.FromRow(row));
            }

            const string ScalableTargets = "SELECT Cluster, ServiceName, Document FROM scalable_targets";
            await foreach (var row in ReadAsync(connection, ScalableTargets, r => new ScalableTargetRow { Cluster = r.GetString(0), ServiceName = r.GetString(1), Document = (byte[])r.GetValue(2) }, cancellationToken))
            {
                sink.AddScalableTarget(StoredScaling.FromRow(row));
            }

            const string SecurityGroups = "SELECT Id, Cluster, Name, Document FROM security_groups";
            await foreach (var row in ReadAsync(connection, SecurityGroups, r => new SecurityGroupRow { Id = r.GetString(0), Cluster = r.GetString(1), Name = r.GetString(2), Document = (byte[])r.GetValue(3) }, cancellationToken))
            {
                sink.AddSecurityGroup(StoredSecurityGroups.FromRow(row));
            }

            const string HostGroups = "SELECT Cluster, Name, Document FROM host_groups";
            await foreach (var row in ReadAsync(connection, HostGroups, r => new HostGroupRow { Cluster = r.GetString(0), Name = r.GetString(1), Document = (byte[])r.GetValue(2) }, cancellationToken))
            {
                sink.AddHostGroup(StoredHostGroups.FromRow(row));
            }

            const string CapacityProviders = "SELECT Cluster, Name, Document FROM capacity_providers";
            await foreach (var row in ReadAsync(connection, CapacityProviders, r => new CapacityProviderRow { Cluster = r.GetString(0), Name = r.GetString(1), Document = (byte[])r.GetValue(2) }, cancellationToken))
            {
                sink.AddCapacityProvider(StoredCapacityProviders.FromRow(row));
            }
        }
    }

    /// <summary>
    /// Reads the task rows on one thread (the reader alone keeps a core busy) and turns them into records on every core,
    /// in batches: a hand-over per row cost more in synchronization than the work it shared. A task's details stay as
    /// their stored document until first used (<see cref="TaskRecord.StoredDetails"/>).
    /// </summary>
    private async Task LoadTasksAsync(IStateSink sink, long visibleSinceMs, CancellationToken cancellationToken)
    {
        var rows = Channel.CreateBounded<List<TaskRow>>(new BoundedChannelOptions(8) { SingleWriter = true });
        var decoders = Enumerable.Range(0, Math.Max(1, Environment.ProcessorCount)).Select(_ => Task.Run(async () =>
        {
            var strings = new StringPool();
            // Revisions by ARN, per decoder: the catalog's lock once per revision rather than once per row.
            var definitions = new Dictionary<string, TaskDefinitionRecord?>(StringComparer.Ordinal);
            var batch = new List<TaskRecord>(LoadBatchSize);
            await foreach (var chunk in rows.Reader.ReadAllAsync(cancellationToken))
            {
                foreach (var row in chunk)
                {
                    if (ToRecord(row, strings, definitions, sink) is { } task)
                    {
                        batch.Add(task);
                    }
                }

                sink.AddTasks(batch);
                batch.Clear();
            }
        }, cancellationToken)).ToList();
        try
        {
            await using var connection = await OpenConnectionAsync(cancellationToken);
            var chunk = new List<TaskRow>(LoadBatchSize);
            foreach (var row in TaskRowReader.Read(connection, visibleSinceMs, cancellationToken))
            {
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

        await Task.WhenAll(decoders);
    }

    /// <summary>A record from a stored row: what placement, snapshots and counts need, the details left stored.</summary>
    private TaskRecord? ToRecord(TaskRow row, StringPool strings, Dictionary<string, TaskDefinitionRecord?> definitions, IStateSink sink)
    {
        var arn = row.TaskDefinitionArn ?? "";
        if (!definitions.TryGetValue(arn, out var definition))
        {
            definitions[arn] = definition = sink.FindDefinition(arn);
        }

        if (definition is null)
        {
            Log.TaskWithoutDefinition(_logger, row.Id, arn);
            return null;
        }

        var (ports, hostPorts) = StoredForm.ParsePorts(row.Ports, strings);
        var group = strings.Intern(row.GroupName ?? "");
        return new TaskRecord
        {
            Id = row.Id,
            Cluster = strings.Intern(row.Cluster),
            InstanceId = strings.Intern(row.InstanceId),
            Definition = definition,
            Group = group,
            ClientToken = row.ClientToken,
            Ports = ports,
            Reservation = new TaskReservation(row.Cpu, row.Memory, hostPorts, group),
            DesiredStatus = (LifecycleStatus)row.DesiredStatus,
            LastStatus = (LifecycleStatus)row.LastStatus,
            StoppedAt = row.StoppedAtMs is { } stopped ? StoredForm.Ms(stopped) : null,
            DesiredSeq = row.DesiredSeq,
            AgentSequence = unchecked((ulong)row.AgentSequence),
            Durable = true,
            StoredDetails = row.Details ?? throw new InvalidDataException($"Task {row.Id} has no details."),
        };
    }

    private static TaskDefinitionRow ReadDefinition(SqliteDataReader r) => new()
    {
        Family = r.GetString(0),
        Revision = r.GetInt32(1),
        Status = r.GetString(2),
        Json = r.GetString(3),
        RegisteredAtMs = r.GetInt64(4),
        DeregisteredAtMs = r.IsDBNull(5) ? null : r.GetInt64(5),
    };

    private static InstanceRow ReadInstance(SqliteDataReader r) => new()
    {
        Id = r.GetString(0),
        Cluster = r.GetString(1),
        Status = r.GetInt32(2),
        CredentialHash = (byte[])r.GetValue(3),
        RegisteredAtMs = r.GetInt64(4),
        DeregisteredAtMs = r.IsDBNull(5) ? null : r.GetInt64(5),
        DesiredSeq = r.GetInt64(6),
        HostFacts = r.IsDBNull(7) ? null : (byte[])r.GetValue(7),
        CustomAttributes = (byte[])r.GetValue(8),
        TaskSubnet = r.IsDBNull(9) ? null : r.GetString(9),
        HostAddress = r.IsDBNull(10) ? null : r.GetString(10),
    };

    private static ServiceRow ReadService(SqliteDataReader r) => new()
    {
        Cluster = r.GetString(0),
        Name = r.GetString(1),
        Status = r.GetString(2),
        ClientToken = r.IsDBNull(3) ? null : r.GetString(3),
        InactiveAtMs = r.IsDBNull(4) ? null : r.GetInt64(4),
        Document = r.IsDBNull(5) ? null : (byte[])r.GetValue(5),
    };

    private static async IAsyncEnumerable<T> ReadAsync<T>(
        SqliteConnection connection, string sql, Func<SqliteDataReader, T> read, [EnumeratorCancellation] CancellationToken cancellationToken, long? since = null)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        if (since is { } value)
        {
            command.Parameters.AddWithValue("$since", value);
        }

        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            yield return read(reader);
        }
    }
}
