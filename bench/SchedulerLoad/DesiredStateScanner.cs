using System.Buffers.Text;
using Berth.Scheduler.V1;
using Google.Protobuf;
using Grpc.Core;

namespace Berth.Bench.SchedulerLoad;

/// <summary>
/// The simulated agents' reading of the Session stream as raw bytes. A level-triggered push carries the instance's
/// whole set (up to 100 tasks here) for every change; fully decoding every entry of every push made the load generator
/// use as much CPU as the scheduler on the same two cores. This reads every push's framing and every entry's task id
/// (the first field of a DesiredTask), and decodes an entry fully only the first time its task id is seen, which is all
/// the benchmark needs (the task's created_at, for its delivery latency).
/// </summary>
internal static class DesiredStateScanner
{
    /// <summary>AgentService.Session with the responses left as bytes.</summary>
    public static readonly Method<AgentMessage, byte[]> Session = new(
        MethodType.DuplexStreaming,
        "berth.scheduler.v1.AgentService",
        "Session",
        Marshallers.Create<AgentMessage>(m => m.ToByteArray(), AgentMessage.Parser.ParseFrom),
        Marshallers.Create<byte[]>(b => b, b => b));

    /// <summary>
    /// Reads one SchedulerMessage: for a DesiredState, returns its version and calls <paramref name="newTask"/> for each
    /// entry whose id <paramref name="seen"/> did not have yet; returns null for other messages.
    /// </summary>
    public static long? Scan(byte[] message, HashSet<Guid> seen, Action<DesiredTask> newTask) => Scan(message, seen, newTask, decodeNew: true);

    /// <summary>Reads one SchedulerMessage: for a DesiredState, returns its version and puts every entry's task id in <paramref name="ids"/>.</summary>
    public static long? ScanIds(byte[] message, HashSet<Guid> ids) => Scan(message, ids, static _ => { }, decodeNew: false);

    private static long? Scan(byte[] message, HashSet<Guid> seen, Action<DesiredTask> newTask, bool decodeNew)
    {
        var p = 0;
        while (p < message.Length)
        {
            var (field, wireType) = Tag(message, ref p);
            if (field == SchedulerMessage.DesiredStateFieldNumber && wireType == WireFormat.WireType.LengthDelimited)
            {
                var length = (int)Varint(message, ref p);
                return ScanDesired(message, p, p + length, seen, newTask, decodeNew);
            }

            Skip(message, ref p, wireType);
        }

        return null;
    }

    private static long ScanDesired(byte[] message, int p, int end, HashSet<Guid> seen, Action<DesiredTask> newTask, bool decodeNew)
    {
        long version = 0;
        while (p < end)
        {
            var (field, wireType) = Tag(message, ref p);
            if (field == DesiredState.VersionFieldNumber && wireType == WireFormat.WireType.Varint)
            {
                version = (long)Varint(message, ref p);
            }
            else if (field == DesiredState.TasksFieldNumber && wireType == WireFormat.WireType.LengthDelimited)
            {
                var length = (int)Varint(message, ref p);
                var entry = p;
                p += length;
                var (idField, idType) = Tag(message, ref entry);
                if (idField != DesiredTask.TaskIdFieldNumber || idType != WireFormat.WireType.LengthDelimited)
                {
                    throw new InvalidDataException("A DesiredTask without its task id first.");
                }

                var idLength = (int)Varint(message, ref entry);
                if (!Utf8Parser.TryParse(message.AsSpan(entry, idLength), out Guid id, out _, 'N'))
                {
                    throw new InvalidDataException("A task id that is not a 32-digit hex id.");
                }

                if (seen.Add(id) && decodeNew)
                {
                    newTask(DesiredTask.Parser.ParseFrom(message, p - length, length));
                }
            }
            else
            {
                Skip(message, ref p, wireType);
            }
        }

        return version;
    }

    private static (int Field, WireFormat.WireType WireType) Tag(byte[] message, ref int p)
    {
        var tag = (uint)Varint(message, ref p);
        return (WireFormat.GetTagFieldNumber(tag), WireFormat.GetTagWireType(tag));
    }

    private static ulong Varint(byte[] message, ref int p)
    {
        ulong value = 0;
        for (var shift = 0; ; shift += 7)
        {
            var b = message[p++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }
    }

    private static void Skip(byte[] message, ref int p, WireFormat.WireType wireType)
    {
        switch (wireType)
        {
            case WireFormat.WireType.Varint:
                Varint(message, ref p);
                break;
            case WireFormat.WireType.Fixed64:
                p += 8;
                break;
            case WireFormat.WireType.Fixed32:
                p += 4;
                break;
            case WireFormat.WireType.LengthDelimited:
                var length = (int)Varint(message, ref p);
                p += length;
                break;
            default:
                throw new InvalidDataException($"Unexpected wire type {wireType}.");
        }
    }
}
