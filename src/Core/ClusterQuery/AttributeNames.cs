namespace Berth.Core.ClusterQuery;

/// <summary>
/// Built-in container instance attribute names. Berth spells them <c>berth.*</c>; the <c>ecs.*</c> spellings users bring
/// from ECS are aliases that <see cref="Normalize"/> maps to the canonical name.
/// </summary>
public static class AttributeNames
{
    /// <summary>The zone (ECS: <c>ecs.availability-zone</c>).</summary>
    public const string Zone = "berth.zone";

    /// <summary>The instance type, for example <c>m5.large</c> (ECS: <c>ecs.instance-type</c>).</summary>
    public const string InstanceType = "berth.instance-type";

    /// <summary>The operating system, <c>linux</c> or <c>windows</c> (ECS: <c>ecs.os-type</c>).</summary>
    public const string OsType = "berth.os-type";

    /// <summary>The CPU architecture, for example <c>x86_64</c> or <c>arm64</c> (ECS: <c>ecs.cpu-architecture</c>).</summary>
    public const string CpuArchitecture = "berth.cpu-architecture";

    /// <summary>
    /// Present (with an empty value) on an instance that can run awsvpc tasks: it holds a task subnet of its cluster's
    /// CIDR (ECS: <c>ecs.capability.task-eni</c>). awsvpc tasks are placed only where it is.
    /// </summary>
    public const string TaskEni = "berth.capability.task-eni";

    private const string EcsPrefix = "ecs.";
    private const string BerthPrefix = "berth.";

    /// <summary>
    /// Maps an attribute name to its canonical spelling: <c>ecs.availability-zone</c> becomes <c>berth.zone</c>, any other
    /// <c>ecs.X</c> becomes <c>berth.X</c>; custom names are returned unchanged. Names are case-sensitive, as in ECS.
    /// </summary>
    public static string Normalize(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!name.StartsWith(EcsPrefix, StringComparison.Ordinal))
        {
            return name;
        }

        var rest = name.AsSpan(EcsPrefix.Length);
        return rest switch
        {
            "availability-zone" => Zone,
            "instance-type" => InstanceType,
            "os-type" => OsType,
            "cpu-architecture" => CpuArchitecture,
            _ => string.Concat(BerthPrefix, rest),
        };
    }
}
