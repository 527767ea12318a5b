using System.Buffers;
using System.Buffers.Binary;
using Berth.Scheduler.Sessions;
using Berth.Scheduler.V1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace Berth.Scheduler.Tests.Sessions;

/// <summary>The pre-encoded desired state must be byte for byte what protobuf writes for the same message.</summary>
public sealed class DesiredStateFrameTests
{
    private static DesiredTask Task(string id, int hostPort, LifecycleStatus desired = LifecycleStatus.Running) => new()
    {
        TaskId = id,
        TaskArn = "arn:berth:ecs:local:000000000000:task/default/" + id,
        Cluster = "default",
        TaskDefinitionArn = "arn:berth:ecs:local:000000000000:task-definition/web:1",
        DesiredStatus = desired,
        Group = "family:web",
        Cpu = 10,
        Memory = 32,
        CreatedAt = Timestamp.FromDateTimeOffset(DateTimeOffset.FromUnixTimeMilliseconds(1_764_000_000_123)),
        PortAssignments = { new PortAssignment { ContainerName = "web", ContainerPort = 80, HostPort = hostPort, Protocol = "tcp" } },
        Overrides = hostPort % 2 == 0 ? new TaskOverride() : null,
        StoppedReason = desired == LifecycleStatus.Stopped ? "Task stopped by user — ü" : "",
    };

    public static TheoryData<int, ContainerInstanceStatus, long> Shapes() => new()
    {
        { 0, ContainerInstanceStatus.Active, 1 },
        { 1, ContainerInstanceStatus.Draining, 1_764_000_000_123_456 },
        { 150, ContainerInstanceStatus.Active, long.MaxValue },
        { 3, ContainerInstanceStatus.Inactive, 42 },
        { 2, ContainerInstanceStatus.Unspecified, 0 },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Frame_EqualsProtobufEncoding(int taskCount, ContainerInstanceStatus status, long version)
    {
        var tasks = Enumerable.Range(0, taskCount)
            .Select(i => Task($"t{i:D4}", 30000 + i, i % 7 == 3 ? LifecycleStatus.Stopped : LifecycleStatus.Running))
            .ToList();
        var documents = taskCount == 0 ? [] : new List<TaskDefinitionDocument>
        {
            new() { TaskDefinitionArn = tasks[0].TaskDefinitionArn, TaskDefinitionJson = new string('x', 300) + "\"é\"" },
            new() { TaskDefinitionArn = "arn:other", TaskDefinitionJson = "{}" },
        };
        var expected = new SchedulerMessage
        {
            DesiredState = new DesiredState { Version = version, ContainerInstanceId = "i-0123456789abcdef", InstanceStatus = status, Tasks = { tasks }, TaskDefinitions = { documents } },
        };
        var frame = new DesiredStateFrame(version, "i-0123456789abcdef", status, [.. tasks.Select(t => t.ToByteArray())], [.. documents.Select(d => d.ToByteArray())]);

        var bytes = new byte[frame.MessageLength];
        var written = frame.WriteMessage(bytes);

        Assert.Equal(bytes.Length, written);
        Assert.Equal(expected.ToByteArray(), bytes);
        Assert.Equal(expected.DesiredState, frame.ToMessage());
    }

    [Fact]
    public void GrpcFrame_HasTheLengthPrefix()
    {
        var frame = new DesiredStateFrame(7, "i-1", ContainerInstanceStatus.Active, [Task("a", 1).ToByteArray()], []);
        var buffer = new ArrayBufferWriter<byte>();

        frame.WriteGrpcFrame(buffer);

        var written = buffer.WrittenSpan;
        Assert.Equal(0, written[0]);
        Assert.Equal((uint)written.Length - 5, BinaryPrimitives.ReadUInt32BigEndian(written[1..5]));
        Assert.Equal(frame.ToMessage(), SchedulerMessage.Parser.ParseFrom(written[5..].ToArray()).DesiredState);
    }
}
