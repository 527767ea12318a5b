using System.Text.Json;
using System.Text.Json.Serialization;

namespace Berth.Core.TaskDefinitions;

/// <summary>
/// An ECS task definition as users write it for <c>RegisterTaskDefinition</c>. Property names are ECS's
/// (camelCase in JSON); fields this model does not know are kept in <see cref="ExtensionData"/> and written back,
/// so a document round-trips without losing anything. Parse with <see cref="TaskDefinitionJson.Parse"/>.
/// </summary>
public sealed class TaskDefinition
{
    /// <summary>The family name (1-255 letters, digits, <c>-</c> and <c>_</c>).</summary>
    public string? Family { get; set; }

    /// <summary>The containers of the task (1-10).</summary>
    public List<ContainerDefinition>? ContainerDefinitions { get; set; }

    /// <summary><c>bridge</c> (default), <c>host</c>, <c>awsvpc</c> or <c>none</c>.</summary>
    public string? NetworkMode { get; set; }

    /// <summary>Task-level cpu as ECS accepts it: <c>"256"</c> (units) or <c>"1 vCPU"</c>; a JSON number is accepted too.</summary>
    [JsonConverter(typeof(NumberOrStringConverter))]
    public string? Cpu { get; set; }

    /// <summary>Task-level memory as ECS accepts it: <c>"512"</c> (MiB) or <c>"0.5 GB"</c>; a JSON number is accepted too.</summary>
    [JsonConverter(typeof(NumberOrStringConverter))]
    public string? Memory { get; set; }

    /// <summary>Launch types the definition must be valid for: <c>EC2</c>, <c>FARGATE</c>, <c>EXTERNAL</c>.</summary>
    public List<string>? RequiresCompatibilities { get; set; }

    /// <summary>Constraints every task of this definition is placed with (type <c>memberOf</c>).</summary>
    public List<PlacementConstraintDefinition>? PlacementConstraints { get; set; }

    /// <summary>Volumes the containers' mount points refer to.</summary>
    public List<VolumeDefinition>? Volumes { get; set; }

    /// <summary>Fields this model does not know, kept as written.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? ExtensionData { get; set; }
}

/// <summary>An ECS container definition.</summary>
public sealed class ContainerDefinition
{
    /// <summary>The container name, unique in the task (1-255 letters, digits, <c>-</c> and <c>_</c>).</summary>
    public string? Name { get; set; }

    /// <summary>The image reference.</summary>
    public string? Image { get; set; }

    /// <summary>Cpu units reserved (1024 per vCPU).</summary>
    public int? Cpu { get; set; }

    /// <summary>Hard memory limit in MiB; the container is killed above it.</summary>
    public int? Memory { get; set; }

    /// <summary>Soft memory limit in MiB, reserved when no hard limit is set.</summary>
    public int? MemoryReservation { get; set; }

    /// <summary>Ports to publish.</summary>
    public List<PortMapping>? PortMappings { get; set; }

    /// <summary>Whether the task stops when this container stops; true when absent.</summary>
    public bool? Essential { get; set; }

    /// <summary>The entry point, replacing the image's.</summary>
    public List<string>? EntryPoint { get; set; }

    /// <summary>The command, replacing the image's.</summary>
    public List<string>? Command { get; set; }

    /// <summary>Environment variables.</summary>
    public List<EnvironmentEntry>? Environment { get; set; }

    /// <summary>Containers that must reach a condition before this one starts.</summary>
    public List<ContainerDependency>? DependsOn { get; set; }

    /// <summary>The container health check.</summary>
    public HealthCheckDefinition? HealthCheck { get; set; }

    /// <summary>Seconds between SIGTERM and SIGKILL when stopping (0-120).</summary>
    public int? StopTimeout { get; set; }

    /// <summary>Volume mounts.</summary>
    public List<MountPoint>? MountPoints { get; set; }

    /// <summary>The log driver and its options.</summary>
    public LogConfiguration? LogConfiguration { get; set; }

    /// <summary>Fields this model does not know, kept as written.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? ExtensionData { get; set; }

    /// <summary>Whether the container is essential (ECS default: true).</summary>
    [JsonIgnore]
    public bool IsEssential => Essential ?? true;
}

/// <summary>A port mapping; <see cref="HostPort"/> 0 or absent means a dynamic host port in bridge mode.</summary>
public sealed class PortMapping
{
    /// <summary>The container port (1-65535).</summary>
    public int? ContainerPort { get; set; }

    /// <summary>The host port; 0 or absent for a dynamic one.</summary>
    public int? HostPort { get; set; }

    /// <summary><c>tcp</c> (default) or <c>udp</c>.</summary>
    public string? Protocol { get; set; }

    /// <summary>Fields this model does not know (name, appProtocol, containerPortRange, ...), kept as written.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? ExtensionData { get; set; }

    /// <summary>The protocol, lower case, <c>tcp</c> when absent.</summary>
    [JsonIgnore]
    public string EffectiveProtocol => string.IsNullOrEmpty(Protocol) ? "tcp" : Protocol.ToLowerInvariant();
}

/// <summary>An environment variable.</summary>
public sealed class EnvironmentEntry
{
    /// <summary>The variable name.</summary>
    public string? Name { get; set; }

    /// <summary>The value.</summary>
    public string? Value { get; set; }
}

/// <summary>A startup dependency on another container of the task.</summary>
public sealed class ContainerDependency
{
    /// <summary>The container depended on.</summary>
    public string? ContainerName { get; set; }

    /// <summary><c>START</c>, <c>COMPLETE</c>, <c>SUCCESS</c> or <c>HEALTHY</c>.</summary>
    public string? Condition { get; set; }
}

/// <summary>A container health check (Docker HEALTHCHECK).</summary>
public sealed class HealthCheckDefinition
{
    /// <summary><c>["CMD", ...]</c>, <c>["CMD-SHELL", "..."]</c> or <c>["NONE"]</c>.</summary>
    public List<string>? Command { get; set; }

    /// <summary>Seconds between checks (5-300, default 30).</summary>
    public int? Interval { get; set; }

    /// <summary>Seconds before a check fails (2-120, default 5).</summary>
    public int? Timeout { get; set; }

    /// <summary>Failures before unhealthy (1-10, default 3).</summary>
    public int? Retries { get; set; }

    /// <summary>Grace seconds in which failures do not count (0-300).</summary>
    public int? StartPeriod { get; set; }
}

/// <summary>A volume mount of a container.</summary>
public sealed class MountPoint
{
    /// <summary>The volume name from the task's volumes.</summary>
    public string? SourceVolume { get; set; }

    /// <summary>Where it is mounted in the container.</summary>
    public string? ContainerPath { get; set; }

    /// <summary>Read-only mount.</summary>
    public bool? ReadOnly { get; set; }
}

/// <summary>A task volume.</summary>
public sealed class VolumeDefinition
{
    /// <summary>The volume name mount points refer to.</summary>
    public string? Name { get; set; }

    /// <summary>A bind mount from the host (with <c>sourcePath</c>); absent or without a path, a task-scoped empty volume.</summary>
    public HostVolume? Host { get; set; }

    /// <summary>A Docker volume (named, with a driver), task-scoped or shared; exclusive with <see cref="Host"/>.</summary>
    public DockerVolumeConfiguration? DockerVolumeConfiguration { get; set; }

    /// <summary>Fields this model does not know (efsVolumeConfiguration, ...), kept as written.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? ExtensionData { get; set; }
}

/// <summary>The host side of a bind-mounted volume.</summary>
public sealed class HostVolume
{
    /// <summary>The host path.</summary>
    public string? SourcePath { get; set; }
}

/// <summary>A Docker volume of a task (ECS <c>dockerVolumeConfiguration</c>).</summary>
public sealed class DockerVolumeConfiguration
{
    /// <summary><c>task</c> (default: made for the task, removed with it) or <c>shared</c> (outlives tasks, shared by name).</summary>
    public string? Scope { get; set; }

    /// <summary>With <c>shared</c> scope: create the volume when it does not exist (otherwise it must exist).</summary>
    public bool? Autoprovision { get; set; }

    /// <summary>The volume driver; <c>local</c> when absent.</summary>
    public string? Driver { get; set; }

    /// <summary>Driver options.</summary>
    public Dictionary<string, string>? DriverOpts { get; set; }

    /// <summary>Labels put on the volume.</summary>
    public Dictionary<string, string>? Labels { get; set; }

    /// <summary>The scope, lower case, <c>task</c> when absent.</summary>
    [JsonIgnore]
    public string EffectiveScope => string.IsNullOrEmpty(Scope) ? "task" : Scope.ToLowerInvariant();
}

/// <summary>The log configuration of a container.</summary>
public sealed class LogConfiguration
{
    /// <summary>The Docker log driver (<c>json-file</c>, <c>awslogs</c>, ...).</summary>
    public string? LogDriver { get; set; }

    /// <summary>Driver options.</summary>
    public Dictionary<string, string>? Options { get; set; }

    /// <summary>Fields this model does not know (secretOptions), kept as written.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? ExtensionData { get; set; }
}

/// <summary>A task-definition placement constraint.</summary>
public sealed class PlacementConstraintDefinition
{
    /// <summary><c>memberOf</c>.</summary>
    public string? Type { get; set; }

    /// <summary>A cluster query language expression.</summary>
    public string? Expression { get; set; }
}

/// <summary>Reads a JSON number or string as a string (ECS accepts task-level cpu and memory both ways).</summary>
internal sealed class NumberOrStringConverter : JsonConverter<string>
{
    public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.TokenType switch
    {
        JsonTokenType.String => reader.GetString(),
        JsonTokenType.Number => System.Text.Encoding.UTF8.GetString(reader.ValueSpan),
        JsonTokenType.Null => null,
        _ => throw new JsonException("must be a string or a number"),
    };

    public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options) => writer.WriteStringValue(value);
}
