using System.Globalization;

namespace Berth.Core.TaskDefinitions;

/// <summary>Cpu and memory arithmetic as ECS does it: 1024 cpu units per vCPU, memory in MiB.</summary>
public static class TaskResources
{
    /// <summary>Cpu units in one vCPU.</summary>
    public const int UnitsPerVcpu = 1024;

    /// <summary>Parses task-level cpu: <c>"256"</c> (units), <c>"1 vCPU"</c>, <c>"0.25 vcpu"</c>, <c>"2vCPU"</c>.</summary>
    public static bool TryParseCpu(string? value, out int units)
    {
        units = 0;
        if (string.IsNullOrWhiteSpace(value))
        {
            return false;
        }

        var text = value.Trim();
        if (text.EndsWith("vcpu", StringComparison.OrdinalIgnoreCase))
        {
            if (!decimal.TryParse(text[..^4].Trim(), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var vcpus) || vcpus <= 0 || vcpus > 1024)
            {
                return false;
            }

            units = (int)decimal.Round(vcpus * UnitsPerVcpu);
            return units >= 1;
        }

        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out units) && units >= 1;
    }

    /// <summary>Parses task-level memory: <c>"512"</c> (MiB), <c>"1 GB"</c>, <c>"0.5GB"</c>, <c>"2 gb"</c> (1 GB = 1024 MiB as ECS).</summary>
    public static bool TryParseMemory(string? value, out int mebibytes)
    {
        mebibytes = 0;
        if (string.IsNullOrWhiteSpace(value))
        {
            return false;
        }

        var text = value.Trim();
        if (text.EndsWith("gb", StringComparison.OrdinalIgnoreCase))
        {
            if (!decimal.TryParse(text[..^2].Trim(), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var gb) || gb <= 0 || gb > 1024 * 1024)
            {
                return false;
            }

            mebibytes = (int)decimal.Round(gb * 1024);
            return mebibytes >= 6;
        }

        if (text.EndsWith("mb", StringComparison.OrdinalIgnoreCase) || text.EndsWith("mib", StringComparison.OrdinalIgnoreCase))
        {
            text = text.TrimEnd('b', 'B', 'm', 'M', 'i', 'I').Trim();
        }

        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out mebibytes) && mebibytes >= 6;
    }

    /// <summary>
    /// The cpu units a task reserves on an instance: the task-level cpu when set, else the sum of the containers' cpu.
    /// </summary>
    public static int ReservedCpu(TaskDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        if (TryParseCpu(definition.Cpu, out var units))
        {
            return units;
        }

        return definition.ContainerDefinitions?.Sum(c => c.Cpu ?? 0) ?? 0;
    }

    /// <summary>
    /// The memory (MiB) a task reserves on an instance: the task-level memory when set, else per container its
    /// hard <c>memory</c> limit or, without one, its <c>memoryReservation</c>.
    /// </summary>
    public static int ReservedMemory(TaskDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        if (TryParseMemory(definition.Memory, out var mebibytes))
        {
            return mebibytes;
        }

        return definition.ContainerDefinitions?.Sum(c => c.Memory ?? c.MemoryReservation ?? 0) ?? 0;
    }
}
