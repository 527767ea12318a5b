using Berth.Scheduler.Kernel;
using Microsoft.Data.Sqlite;

namespace Berth.Scheduler.Persistence;

/// <summary>
/// The data step between two schema migrations: schedulers before issue 12 stored the public API's protobuf messages
/// (<c>TaskInfo</c>, <c>HostFacts</c>, <c>ServiceInfo</c>) as blobs. Once <see cref="AddsStoredFormat"/> has added the
/// new columns, this decodes each old blob once into them; <see cref="DropsLegacyColumns"/> then drops the blobs. It
/// works in chunks, each its own transaction, on rows whose new columns are still empty, so a conversion that stops
/// half way simply continues at the next start. This is the only code in the scheduler's persistence that knows the
/// old format.
/// </summary>
internal static class LegacyConversion
{
    /// <summary>The migration that adds the stored-format columns (the old ones still present).</summary>
    public const string AddsStoredFormat = "20261203162836_StoredFormat";

    /// <summary>The migration that drops the protobuf columns.</summary>
    public const string DropsLegacyColumns = "20261203163117_DropProtobufColumns";

    private const int Chunk = 5000;

    /// <summary>Converts every row still in the old format; returns how many.</summary>
    public static async Task<int> ConvertAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        // Records that ended before the upgrade get "now" as their end: the retention counts from the upgrade.
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var converted = 0;
        converted += await ConvertChunksAsync(connection, "SELECT Id, LastStatus, Info FROM tasks WHERE Details IS NULL LIMIT " + Chunk,
            "UPDATE tasks SET TaskDefinitionArn = $a, GroupName = $b, Cpu = $c, Memory = $d, StoppedAtMs = $e, Details = $f WHERE Id = $id",
            reader =>
            {
                var info = V1.TaskInfo.Parser.ParseFrom((byte[])reader.GetValue(2));
                var stopped = reader.GetInt32(1) == (int)LifecycleStatus.Stopped;
                return (reader.GetString(0), [info.TaskDefinitionArn, info.Group, info.Cpu, info.Memory,
                    stopped ? info.StoppedAt?.ToDateTimeOffset().ToUnixTimeMilliseconds() ?? now : null,
                    StoredDocuments.Encode(Details(info))]);
            }, cancellationToken);
        converted += await ConvertChunksAsync(connection, "SELECT Id, Status, Facts FROM instances WHERE HostFacts IS NULL LIMIT " + Chunk,
            "UPDATE instances SET HostFacts = $a, DeregisteredAtMs = $b WHERE Id = $id",
            reader =>
            {
                var facts = V1.HostFacts.Parser.ParseFrom((byte[])reader.GetValue(2));
                return (reader.GetString(0), [StoredDocuments.Encode(Facts(facts)), reader.GetInt32(1) == 3 ? now : null]);
            }, cancellationToken);
        converted += await ConvertChunksAsync(connection, "SELECT rowid, Status, Info FROM services WHERE Document IS NULL LIMIT " + Chunk,
            "UPDATE services SET Document = $a, InactiveAtMs = $b WHERE rowid = $id",
            reader =>
            {
                var info = V1.ServiceInfo.Parser.ParseFrom((byte[])reader.GetValue(2));
                return (reader.GetInt64(0), [StoredDocuments.Encode(Service(info)), reader.GetString(1) == Statuses.Inactive ? now : null]);
            }, cancellationToken);
        return converted;
    }

    private static async Task<int> ConvertChunksAsync(
        SqliteConnection connection, string select, string update, Func<SqliteDataReader, (object Id, object?[] Values)> convert, CancellationToken cancellationToken)
    {
        var total = 0;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var transaction = connection.BeginTransaction();
            // The chunk is read whole before it is written: no statement reads a table while it changes.
            var converted = new List<(object Id, object?[] Values)>();
            await using (var read = connection.CreateCommand())
            {
                read.Transaction = transaction;
                read.CommandText = select;
                await using var reader = await read.ExecuteReaderAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                {
                    converted.Add(convert(reader));
                }
            }

            await using (var write = connection.CreateCommand())
            {
                write.Transaction = transaction;
                write.CommandText = update;
                foreach (var (id, values) in converted)
                {
                    write.Parameters.Clear();
                    write.Parameters.AddWithValue("$id", id);
                    for (var i = 0; i < values.Length; i++)
                    {
                        write.Parameters.AddWithValue("$" + (char)('a' + i), values[i] ?? DBNull.Value);
                    }

                    await write.ExecuteNonQueryAsync(cancellationToken);
                }
            }

            await transaction.CommitAsync(cancellationToken);
            total += converted.Count;
            if (converted.Count < Chunk)
            {
                return total;
            }
        }
    }

    private static TaskDetailsDocument Details(V1.TaskInfo info) => new()
    {
        StartedBy = StoredForm.Nz(info.StartedBy),
        LaunchType = StoredForm.Nz(info.LaunchType),
        Overrides = info.Overrides is { } o
            ? [.. o.ContainerOverrides.Select(c => new ContainerOverrideDocument
            {
                Name = c.Name,
                Command = c.Command.Count == 0 ? null : [.. c.Command],
                CommandSet = c.CommandSet,
                Environment = c.Environment.Count == 0 ? null : [.. c.Environment.Select(e => new EnvironmentDocument { Name = e.Name, Value = e.Value })],
            })]
            : null,
        CreatedAt = info.CreatedAt?.ToDateTimeOffset() ?? DateTimeOffset.UnixEpoch,
        StopCode = (int)info.StopCode,
        StoppedReason = StoredForm.Nz(info.StoppedReason),
        HealthStatus = (int)info.HealthStatus,
        Containers = info.Containers.Count == 0 ? null : [.. info.Containers.Select(c => new ContainerDocument
        {
            Name = c.Name,
            Image = c.Image,
            LastStatus = (int)c.LastStatus,
            ExitCode = c.HasExitCode ? c.ExitCode : null,
            Reason = StoredForm.Nz(c.Reason),
            NetworkBindings = c.NetworkBindings.Count == 0 ? null : [.. c.NetworkBindings.Select(b => new BindingDocument { ContainerPort = b.ContainerPort, HostPort = b.HostPort, Protocol = b.Protocol, BindIp = StoredForm.Nz(b.BindIp) })],
            HealthStatus = (int)c.HealthStatus,
            RuntimeId = StoredForm.Nz(c.RuntimeId),
            Essential = c.Essential,
            ImageDigest = StoredForm.Nz(c.ImageDigest),
        })],
        StartedAt = info.StartedAt?.ToDateTimeOffset(),
        StoppingAt = info.StoppingAt?.ToDateTimeOffset(),
        LastReportedAt = info.LastReportedAt?.ToDateTimeOffset(),
        Version = info.Version,
    };

    private static HostFactsDocument Facts(V1.HostFacts f) => new()
    {
        Hostname = f.Hostname,
        Cpu = f.Cpu,
        Memory = f.Memory,
        AgentVersion = f.AgentVersion,
        OsType = f.OsType,
        CpuArchitecture = f.CpuArchitecture,
        Zone = f.Zone,
        InstanceType = f.InstanceType,
        Attributes = f.Attributes.Count == 0 ? null : [.. f.Attributes.Select(a => new AttributeDocument { Name = a.Name, Value = a.Value })],
        ReservedPorts = f.ReservedPorts.Count == 0 ? null : [.. f.ReservedPorts],
        ReservedPortsUdp = f.ReservedPortsUdp.Count == 0 ? null : [.. f.ReservedPortsUdp],
        DynamicPortFirst = f.DynamicPortFirst,
        DynamicPortLast = f.DynamicPortLast,
        RuntimeVersion = f.RuntimeVersion,
    };

    private static ServiceDocument Service(V1.ServiceInfo info)
    {
        var configuration = info.DeploymentConfiguration;
        return new ServiceDocument
        {
            DesiredCount = info.DesiredCount,
            TaskDefinition = info.TaskDefinition,
            SchedulingStrategy = info.SchedulingStrategy == V1.SchedulingStrategy.Daemon ? (int)SchedulingStrategy.Daemon : (int)SchedulingStrategy.Replica,
            DeploymentConfiguration = new DeploymentConfigurationDocument
            {
                MinimumHealthyPercent = configuration?.HasMinimumHealthyPercent == true ? configuration.MinimumHealthyPercent : null,
                MaximumPercent = configuration?.HasMaximumPercent == true ? configuration.MaximumPercent : null,
                CircuitBreakerEnable = configuration?.DeploymentCircuitBreaker?.Enable,
                CircuitBreakerRollback = configuration?.DeploymentCircuitBreaker?.Rollback,
            },
            PlacementStrategy = info.PlacementStrategy.Count == 0 ? null : [.. info.PlacementStrategy.Select(p => new PlacementDocument { Type = p.Type, Value = p.Field })],
            PlacementConstraints = info.PlacementConstraints.Count == 0 ? null : [.. info.PlacementConstraints.Select(p => new PlacementDocument { Type = p.Type, Value = p.Expression })],
            HealthCheckGracePeriodSeconds = info.HealthCheckGracePeriodSeconds,
            LaunchType = info.LaunchType,
            ReconnectPolicy = info.ReconnectPolicy == V1.ReconnectPolicy.KeepOriginal ? (int)ReconnectPolicy.KeepOriginal : (int)ReconnectPolicy.KeepReplacement,
            CreatedAt = info.CreatedAt?.ToDateTimeOffset() ?? DateTimeOffset.UnixEpoch,
            Deployments = [.. info.Deployments.Select(d => new DeploymentDocument
            {
                Id = d.Id,
                Status = d.Status,
                TaskDefinition = d.TaskDefinition,
                DesiredCount = d.DesiredCount,
                FailedTasks = d.FailedTasks,
                RolloutState = d.RolloutState,
                RolloutStateReason = d.RolloutStateReason,
                CreatedAt = d.CreatedAt?.ToDateTimeOffset() ?? DateTimeOffset.UnixEpoch,
                UpdatedAt = d.UpdatedAt?.ToDateTimeOffset() ?? DateTimeOffset.UnixEpoch,
                LaunchType = d.LaunchType,
            })],
            Events = [.. info.Events.Select(e => new EventDocument { Id = e.Id, CreatedAt = e.CreatedAt?.ToDateTimeOffset() ?? DateTimeOffset.UnixEpoch, Message = e.Message })],
        };
    }
}
