using Berth.Scheduler.ControlPlane;
using Berth.Scheduler.Kernel;
using Berth.Scheduler.Placement;
using Berth.Scheduler.V1;
using Google.Protobuf;

namespace Berth.Scheduler.Sessions;

/// <summary>
/// Builds each instance's desired state for its session as a <see cref="DesiredStateFrame"/>: every task's
/// <see cref="DesiredTask"/> and every task definition's document are encoded once and cached on their records (the
/// records drop the cache when a field it carries changes), so a push only concatenates bytes.
/// </summary>
internal sealed class DesiredStates(StateKernel kernel)
{
    /// <summary>
    /// The instance's complete desired task set, or null when its version is not newer than <paramref name="sentVersion"/>.
    /// Under the cluster's lock only references to cached encodings are collected; the bytes are assembled by the caller.
    /// </summary>
    public DesiredStateFrame? Build(string instanceId, long sentVersion) =>
        kernel.ReadInstance(instanceId, (_, instance) =>
        {
            if (instance is null || instance.DesiredVersion <= sentVersion)
            {
                return null;
            }

            var tasks = new List<byte[]>(instance.Tasks.Count);
            var definitions = new List<byte[]>(1);
            var sources = new List<DesiredDefinition>(1);
            TaskDefinitionRecord? last = null;
            HashSet<TaskDefinitionRecord>? seen = null;
            foreach (var task in instance.Tasks)
            {
                if (!task.Durable)
                {
                    continue;
                }

                tasks.Add(task.DesiredEncoding ??= Encode(task).ToByteArray());
                // Most sets use one definition: compare with the previous one before paying for a set.
                if (ReferenceEquals(task.Definition, last))
                {
                    continue;
                }

                last = task.Definition;
                seen ??= [];
                if (seen.Add(task.Definition))
                {
                    definitions.Add(EncodedDocument(task.Definition));
                    sources.Add(new DesiredDefinition(task.Definition.Arn, task.Definition.DescribedJson));
                }
            }

            return new DesiredStateFrame(instance.DesiredVersion, instance.Id, WireConvert.ToWire(instance.Status), tasks, definitions, sources);
        });

    /// <summary>The same state as a message (tests and tools).</summary>
    public DesiredState? BuildMessage(string instanceId, long sentVersion) => Build(instanceId, sentVersion)?.ToMessage();

    /// <summary>A task's entry of its instance's desired state.</summary>
    public static DesiredTask Encode(TaskRecord t)
    {
        var desired = new DesiredTask
        {
            TaskId = t.Id,
            TaskArn = t.Arn,
            Cluster = t.Cluster,
            TaskDefinitionArn = t.Definition.Arn,
            DesiredStatus = WireConvert.ToWire(t.DesiredStatus),
            Overrides = WireConvert.ToWire(t.Overrides),
            Group = t.Group,
            StartedBy = t.StartedBy,
            Cpu = t.Reservation.Cpu,
            Memory = t.Reservation.Memory,
            StoppedReason = t.StoppedReason,
            StopCode = WireConvert.ToWire(t.StopCode),
            CreatedAt = WireConvert.ToWire(t.CreatedAt),
        };
        foreach (var p in t.Ports)
        {
            desired.PortAssignments.Add(new PortAssignment
            {
                ContainerName = p.ContainerName,
                ContainerPort = p.ContainerPort,
                HostPort = p.HostPort,
                Protocol = p.Protocol == TransportProtocol.Udp ? "udp" : "tcp",
            });
        }

        return desired;
    }

    /// <summary>The agents' <see cref="TaskDefinitionDocument"/> of a revision, rebuilt when its described document changes.</summary>
    private static byte[] EncodedDocument(TaskDefinitionRecord definition)
    {
        var json = definition.DescribedJson;
        if (definition.EdgeDocument is EncodedDocumentCache cached && ReferenceEquals(cached.Json, json))
        {
            return cached.Bytes;
        }

        var bytes = new TaskDefinitionDocument { TaskDefinitionArn = definition.Arn, TaskDefinitionJson = json }.ToByteArray();
        definition.EdgeDocument = new EncodedDocumentCache(json, bytes);
        return bytes;
    }

    private sealed record EncodedDocumentCache(string Json, byte[] Bytes);
}
