namespace Berth.Core.TaskDefinitions;

/// <summary>
/// The task sizes FARGATE accepts: a task-level cpu value and, for each, the memory values allowed with it (ECS's table,
/// "Task CPU and memory" of the Fargate launch type).
/// </summary>
public static class FargateSizes
{
    // (cpu units, first MiB, last MiB, step MiB). 256 is the odd one: 512, 1024 and 2048 only.
    private static readonly (int Cpu, int First, int Last, int Step)[] s_table =
    [
        (256, 512, 512, 1),
        (256, 1024, 2048, 1024),
        (512, 1024, 4096, 1024),
        (1024, 2048, 8192, 1024),
        (2048, 4096, 16384, 1024),
        (4096, 8192, 30720, 1024),
        (8192, 16384, 61440, 4096),
        (16384, 32768, 122880, 8192),
    ];

    /// <summary>Whether FARGATE runs a task of <paramref name="cpu"/> units with <paramref name="memory"/> MiB.</summary>
    public static bool IsSupported(int cpu, int memory) =>
        s_table.Any(row => row.Cpu == cpu && memory >= row.First && memory <= row.Last && (memory - row.First) % row.Step == 0);

    /// <summary>ECS's words for a size outside the table.</summary>
    public static string Unsupported(int cpu, int memory) =>
        $"No Fargate configuration exists for given values: {cpu} CPU, {memory} memory. " +
        "Valid cpu values are 256, 512, 1024, 2048, 4096, 8192 and 16384, each with its own memory range (see docs/scheduler.md)";
}
