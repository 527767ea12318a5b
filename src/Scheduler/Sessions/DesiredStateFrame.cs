using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Berth.Scheduler.V1;
using Google.Protobuf;

namespace Berth.Scheduler.Sessions;

/// <summary>
/// One instance's complete desired state as already-encoded pieces: each task's <see cref="DesiredTask"/> and each task
/// definition's document are encoded once (cached on their records) and a push only concatenates them. Level-triggered
/// pushes re-send the whole set on every change, so encoding it message by message cost O(tasks) per push (most of
/// the scheduler's CPU with spread placement, where every RunTask changes ten instances).
/// </summary>
/// <remarks>
/// The bytes are exactly the protobuf encoding of <c>SchedulerMessage { desired_state = DesiredState { ... } }</c>
/// (fields in number order, proto3 defaults omitted), so any protobuf parser reads them as the message.
/// </remarks>
/// <param name="trailingFields">
/// Fields numbered above <c>task_definitions</c> (host network, security groups, service discovery), each already
/// encoded with its tag and length, in field order: written after the definitions as they are.
/// </param>
internal sealed class DesiredStateFrame(long version, string instanceId, ContainerInstanceStatus status, List<byte[]> tasks, List<byte[]> definitions, IReadOnlyList<DesiredDefinition>? definitionSources = null, IReadOnlyList<byte[]>? trailingFields = null)
{
    private static readonly uint s_desiredStateTag = WireFormat.MakeTag(SchedulerMessage.DesiredStateFieldNumber, WireFormat.WireType.LengthDelimited);
    private static readonly uint s_versionTag = WireFormat.MakeTag(DesiredState.VersionFieldNumber, WireFormat.WireType.Varint);
    private static readonly uint s_instanceTag = WireFormat.MakeTag(DesiredState.ContainerInstanceIdFieldNumber, WireFormat.WireType.LengthDelimited);
    private static readonly uint s_statusTag = WireFormat.MakeTag(DesiredState.InstanceStatusFieldNumber, WireFormat.WireType.Varint);
    private static readonly uint s_taskTag = WireFormat.MakeTag(DesiredState.TasksFieldNumber, WireFormat.WireType.LengthDelimited);
    private static readonly uint s_definitionTag = WireFormat.MakeTag(DesiredState.TaskDefinitionsFieldNumber, WireFormat.WireType.LengthDelimited);

    public long Version { get; } = version;

    public ContainerInstanceStatus Status { get; } = status;

    public int TaskCount => tasks.Count;

    /// <summary>The task definitions the set refers to (ARN and the document sent), for callers that look at them.</summary>
    public IReadOnlyList<DesiredDefinition> Definitions { get; } = definitionSources ?? [];

    /// <summary>The length of the encoded DesiredState (without the SchedulerMessage field around it).</summary>
    private int BodyLength
    {
        get
        {
            var length = 0;
            if (Version != 0)
            {
                length += CodedOutputStream.ComputeUInt32Size(s_versionTag) + CodedOutputStream.ComputeInt64Size(Version);
            }

            if (instanceId.Length != 0)
            {
                length += CodedOutputStream.ComputeUInt32Size(s_instanceTag) + CodedOutputStream.ComputeStringSize(instanceId);
            }

            if (Status != 0)
            {
                length += CodedOutputStream.ComputeUInt32Size(s_statusTag) + CodedOutputStream.ComputeEnumSize((int)Status);
            }

            foreach (var task in tasks)
            {
                length += CodedOutputStream.ComputeUInt32Size(s_taskTag) + CodedOutputStream.ComputeLengthSize(task.Length) + task.Length;
            }

            foreach (var definition in definitions)
            {
                length += CodedOutputStream.ComputeUInt32Size(s_definitionTag) + CodedOutputStream.ComputeLengthSize(definition.Length) + definition.Length;
            }

            foreach (var piece in trailingFields ?? [])
            {
                length += piece.Length;
            }

            return length;
        }
    }

    /// <summary>The length of the encoded SchedulerMessage.</summary>
    public int MessageLength
    {
        get
        {
            var body = BodyLength;
            return CodedOutputStream.ComputeUInt32Size(s_desiredStateTag) + CodedOutputStream.ComputeLengthSize(body) + body;
        }
    }

    /// <summary>Writes the encoded SchedulerMessage; <paramref name="destination"/> must hold <see cref="MessageLength"/> bytes.</summary>
    public int WriteMessage(Span<byte> destination)
    {
        var body = BodyLength;
        var at = 0;
        at += WriteVarint(destination[at..], s_desiredStateTag);
        at += WriteVarint(destination[at..], (uint)body);
        if (Version != 0)
        {
            at += WriteVarint(destination[at..], s_versionTag);
            at += WriteVarint(destination[at..], (ulong)Version);
        }

        if (instanceId.Length != 0)
        {
            at += WriteVarint(destination[at..], s_instanceTag);
            at += WriteVarint(destination[at..], (uint)Encoding.UTF8.GetByteCount(instanceId));
            at += Encoding.UTF8.GetBytes(instanceId, destination[at..]);
        }

        if (Status != 0)
        {
            // Enums are encoded as int32 varints (negative values as ten bytes).
            at += WriteVarint(destination[at..], s_statusTag);
            at += WriteVarint(destination[at..], (ulong)(long)(int)Status);
        }

        at = WritePieces(destination, at, s_taskTag, tasks);
        at = WritePieces(destination, at, s_definitionTag, definitions);
        foreach (var piece in trailingFields ?? [])
        {
            piece.CopyTo(destination[at..]);
            at += piece.Length;
        }

        return at;
    }

    /// <summary>
    /// Writes the message as one gRPC length-prefixed frame (flag 0 = not compressed, big-endian length, message) to
    /// <paramref name="writer"/>, in one piece so the transport's writer is advanced once.
    /// </summary>
    public void WriteGrpcFrame(IBufferWriter<byte> writer)
    {
        var length = MessageLength;
        var rented = ArrayPool<byte>.Shared.Rent(length + 5);
        try
        {
            rented[0] = 0;
            BinaryPrimitives.WriteUInt32BigEndian(rented.AsSpan(1, 4), (uint)length);
            var written = WriteMessage(rented.AsSpan(5, length));
            writer.Write(rented.AsSpan(0, 5 + written));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>The same state as a message (for callers that want one; parses the encoding).</summary>
    public DesiredState ToMessage()
    {
        var bytes = new byte[MessageLength];
        WriteMessage(bytes);
        return SchedulerMessage.Parser.ParseFrom(bytes).DesiredState;
    }

    private static int WritePieces(Span<byte> destination, int at, uint tag, List<byte[]> pieces)
    {
        foreach (var piece in pieces)
        {
            at += WriteVarint(destination[at..], tag);
            at += WriteVarint(destination[at..], (uint)piece.Length);
            piece.CopyTo(destination[at..]);
            at += piece.Length;
        }

        return at;
    }

    private static int WriteVarint(Span<byte> destination, ulong value)
    {
        var i = 0;
        while (value >= 0x80)
        {
            destination[i++] = (byte)(value | 0x80);
            value >>= 7;
        }

        destination[i++] = (byte)value;
        return i;
    }
}

/// <summary>A task definition in a desired state: its ARN and the document agents receive.</summary>
internal sealed record DesiredDefinition(string Arn, string Json);
