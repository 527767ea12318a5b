using Berth.Scheduler.V1;
using Google.Protobuf;

namespace Berth.Scheduler.State;

/// <summary>
/// The fields of a stored <see cref="TaskInfo"/> that start-up needs (its definition, group and reservation), read
/// without decoding the rest: containers, overrides and timestamps are most of a row's decoding cost, and a loaded
/// task decodes them on first use instead (<see cref="TaskDetails"/>).
/// </summary>
internal readonly record struct StoredTaskHead(string TaskDefinitionArn, string Group, int Cpu, int Memory)
{
    private static readonly uint s_definitionTag = WireFormat.MakeTag(TaskInfo.TaskDefinitionArnFieldNumber, WireFormat.WireType.LengthDelimited);
    private static readonly uint s_groupTag = WireFormat.MakeTag(TaskInfo.GroupFieldNumber, WireFormat.WireType.LengthDelimited);
    private static readonly uint s_cpuTag = WireFormat.MakeTag(TaskInfo.CpuFieldNumber, WireFormat.WireType.Varint);
    private static readonly uint s_memoryTag = WireFormat.MakeTag(TaskInfo.MemoryFieldNumber, WireFormat.WireType.Varint);

    public static StoredTaskHead Read(byte[] stored)
    {
        string definition = "", group = "";
        int cpu = 0, memory = 0;
        var input = new CodedInputStream(stored);
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            // As protobuf's own parser: a field seen twice keeps its last value; any other field is skipped.
            if (tag == s_definitionTag)
            {
                definition = input.ReadString();
            }
            else if (tag == s_groupTag)
            {
                group = input.ReadString();
            }
            else if (tag == s_cpuTag)
            {
                cpu = input.ReadInt32();
            }
            else if (tag == s_memoryTag)
            {
                memory = input.ReadInt32();
            }
            else
            {
                input.SkipLastField();
            }
        }

        return new StoredTaskHead(definition, group, cpu, memory);
    }
}
