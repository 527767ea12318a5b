using System.Text.Json;
using System.Text.Json.Serialization;
using Berth.Scheduler.Kernel;

namespace Berth.Scheduler.Persistence;

// The documents stored in the database's document columns: this folder's own shapes, versioned by "schema". A reader
// refuses a schema it does not know (a newer scheduler wrote it) rather than guess. Defaults and empty strings are left
// out and times are numbers (100-ns ticks since the Unix epoch, which keeps every digit a DateTimeOffset has), which
// keeps a task's document small: a million tasks are a million documents, kept as bytes in memory until first used.

/// <summary>
/// Schema 1 of a task's details (tasks.Details). Its names (and its containers' and bindings') are short: a million
/// live tasks keep this document in memory until first used, and the names were a third of it.
/// </summary>
internal sealed class TaskDetailsDocument
{
    [JsonPropertyName("v")]
    public int Schema { get; set; } = StoredDocuments.Schema;

    [JsonPropertyName("sb")]
    public string? StartedBy { get; set; }

    [JsonPropertyName("lt")]
    public string? LaunchType { get; set; }

    /// <summary>Null: no overrides given; empty: an empty overrides object given.</summary>
    [JsonPropertyName("ov")]
    public List<ContainerOverrideDocument>? Overrides { get; set; }

    [JsonPropertyName("ca")]
    public DateTimeOffset CreatedAt { get; set; }

    [JsonPropertyName("sc")]
    public int StopCode { get; set; }

    [JsonPropertyName("sr")]
    public string? StoppedReason { get; set; }

    [JsonPropertyName("hs")]
    public int HealthStatus { get; set; }

    [JsonPropertyName("c")]
    public List<ContainerDocument>? Containers { get; set; }

    [JsonPropertyName("sa")]
    public DateTimeOffset? StartedAt { get; set; }

    [JsonPropertyName("sg")]
    public DateTimeOffset? StoppingAt { get; set; }

    [JsonPropertyName("lr")]
    public DateTimeOffset? LastReportedAt { get; set; }

    [JsonPropertyName("ver")]
    public long Version { get; set; }

    /// <summary>An awsvpc task's network interface (added within schema 1: older documents simply lack it).</summary>
    [JsonPropertyName("na")]
    public AttachmentDocument? Attachment { get; set; }

    /// <summary>ECS enableExecuteCommand (added within schema 1: absent means false, as before it existed).</summary>
    [JsonPropertyName("ex")]
    public bool EnableExecuteCommand { get; set; }

    /// <summary>An awsvpc task's security groups (added within schema 1: absent means none, as before they existed).</summary>
    [JsonPropertyName("sgs")]
    public List<string>? SecurityGroups { get; set; }
    /// <summary>ECS capacityProviderName (added within schema 1: absent means launched by launch type).</summary>
    [JsonPropertyName("cp")]
    public string? CapacityProvider { get; set; }

    /// <summary>Why a PROVISIONING task waits (added within schema 1: absent means it does not).</summary>
    [JsonPropertyName("pr")]
    public string? ProvisioningReason { get; set; }

    /// <summary>A waiting RunTask task's placement strategy (added within schema 1).</summary>
    [JsonPropertyName("ws")]
    public List<PlacementDocument>? WaitingStrategy { get; set; }

    /// <summary>A waiting RunTask task's placement constraints (added within schema 1).</summary>
    [JsonPropertyName("wc")]
    public List<PlacementDocument>? WaitingConstraints { get; set; }

    /// <summary>The subnets its RunTask or service named (added within schema 1: absent means none, any zone).</summary>
    [JsonPropertyName("sn")]
    public List<SubnetDocument>? Subnets { get; set; }

    /// <summary>The subnet of its instance's zone (added within schema 1: absent means none).</summary>
    [JsonPropertyName("si")]
    public string? SubnetId { get; set; }
}

/// <summary>A subnet a task or service names: its id and its zone.</summary>
internal sealed class SubnetDocument
{
    [JsonPropertyName("i")]
    public string? Id { get; set; }

    [JsonPropertyName("z")]
    public string? Zone { get; set; }
}

internal sealed class AttachmentDocument
{
    [JsonPropertyName("a")]
    public string? Address { get; set; }

    [JsonPropertyName("s")]
    public string? Subnet { get; set; }

    [JsonPropertyName("g")]
    public string? Gateway { get; set; }

    [JsonPropertyName("m")]
    public string? Mac { get; set; }

    [JsonPropertyName("r")]
    public bool Released { get; set; }
}

internal sealed class ContainerOverrideDocument
{
    public string? Name { get; set; }

    public List<string>? Command { get; set; }

    public bool CommandSet { get; set; }

    public List<EnvironmentDocument>? Environment { get; set; }
}

internal sealed class EnvironmentDocument
{
    public string? Name { get; set; }

    public string? Value { get; set; }
}

internal sealed class ContainerDocument
{
    [JsonPropertyName("n")]
    public string? Name { get; set; }

    [JsonPropertyName("i")]
    public string? Image { get; set; }

    [JsonPropertyName("ls")]
    public int LastStatus { get; set; }

    [JsonPropertyName("ec")]
    public int? ExitCode { get; set; }

    [JsonPropertyName("r")]
    public string? Reason { get; set; }

    [JsonPropertyName("nb")]
    public List<BindingDocument>? NetworkBindings { get; set; }

    [JsonPropertyName("hs")]
    public int HealthStatus { get; set; }

    [JsonPropertyName("rid")]
    public string? RuntimeId { get; set; }

    [JsonPropertyName("e")]
    public bool Essential { get; set; }

    [JsonPropertyName("d")]
    public string? ImageDigest { get; set; }
}

internal sealed class BindingDocument
{
    [JsonPropertyName("cp")]
    public int ContainerPort { get; set; }

    [JsonPropertyName("hp")]
    public int HostPort { get; set; }

    [JsonPropertyName("p")]
    public string? Protocol { get; set; }

    [JsonPropertyName("ip")]
    public string? BindIp { get; set; }
}

/// <summary>Schema 1 of a container instance's host facts (instances.HostFacts).</summary>
internal sealed class HostFactsDocument
{
    public int Schema { get; set; } = StoredDocuments.Schema;

    public string? Hostname { get; set; }

    public int Cpu { get; set; }

    public int Memory { get; set; }

    public string? AgentVersion { get; set; }

    public string? OsType { get; set; }

    public string? CpuArchitecture { get; set; }

    public string? Zone { get; set; }

    public string? InstanceType { get; set; }

    public List<AttributeDocument>? Attributes { get; set; }

    public List<int>? ReservedPorts { get; set; }

    public List<int>? ReservedPortsUdp { get; set; }

    public int DynamicPortFirst { get; set; }

    public int DynamicPortLast { get; set; }

    public string? RuntimeVersion { get; set; }

    /// <summary>Added within schema 1: absent in older documents (no advertised address).</summary>
    public string? AdvertiseAddress { get; set; }
}

internal sealed class AttributeDocument
{
    public string? Name { get; set; }

    public string? Value { get; set; }
}

/// <summary>Schema 1 of a service (services.Document): configuration, deployments (PRIMARY first) and events (newest first).</summary>
internal sealed class ServiceDocument
{
    public int Schema { get; set; } = StoredDocuments.Schema;

    public int DesiredCount { get; set; }

    public string? TaskDefinition { get; set; }

    /// <summary>1 REPLICA, 2 DAEMON.</summary>
    public int SchedulingStrategy { get; set; }

    public DeploymentConfigurationDocument? DeploymentConfiguration { get; set; }

    public List<PlacementDocument>? PlacementStrategy { get; set; }

    public List<PlacementDocument>? PlacementConstraints { get; set; }

    public int HealthCheckGracePeriodSeconds { get; set; }

    public string? LaunchType { get; set; }

    /// <summary>1 KEEP_REPLACEMENT, 2 KEEP_ORIGINAL.</summary>
    public int ReconnectPolicy { get; set; }

    /// <summary>ECS enableExecuteCommand (added within schema 1: absent means false).</summary>
    public bool EnableExecuteCommand { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public List<DeploymentDocument>? Deployments { get; set; }

    public List<EventDocument>? Events { get; set; }

    /// <summary>The launch throttle; absent when the service is not throttled.</summary>
    public ThrottleDocument? Throttle { get; set; }

    /// <summary>ECS loadBalancers: target group ARN, container name and port.</summary>
    public List<ServiceLoadBalancerDocument>? LoadBalancers { get; set; }

    /// <summary>awsvpcConfiguration.securityGroups (added within schema 1: absent means none).</summary>
    public List<string>? SecurityGroups { get; set; }
    /// <summary>ECS capacityProviderStrategy (added within schema 1: absent means launched by launch type).</summary>
    public List<StrategyItemDocument>? CapacityProviderStrategy { get; set; }

    /// <summary>awsvpcConfiguration.subnets with their zones (added within schema 1: absent means none, any zone).</summary>
    public List<SubnetDocument>? Subnets { get; set; }
}

/// <summary>A service's launch throttle (see ServiceThrottleState).</summary>
internal sealed class ThrottleDocument
{
    public int Failures { get; set; }

    public int Level { get; set; }

    public DateTimeOffset? RetryAt { get; set; }

    public string? Summary { get; set; }

    public List<LaunchFailureDocument>? Recent { get; set; }
}

internal sealed class LaunchFailureDocument
{
    public DateTimeOffset At { get; set; }

    public string? Cause { get; set; }
}

internal sealed class ServiceLoadBalancerDocument
{
    public string? TargetGroup { get; set; }

    public string? Container { get; set; }

    public int Port { get; set; }
}

/// <summary>
/// Schema 1 of a load-balancing record (load_balancing.Document): exactly one of the parts is set. The parts are the
/// kernel's records themselves (plain data, no behaviour), so this document changes with them: a reader refuses a
/// schema it does not know, and a record change that is not additive must raise the schema.
/// </summary>
internal sealed class LoadBalancingDocument
{
    public int Schema { get; set; } = StoredDocuments.Schema;

    public LoadBalancerRecord? LoadBalancer { get; set; }

    public ListenerRecord? Listener { get; set; }

    public RuleRecord? Rule { get; set; }

    public TargetGroupRecord? TargetGroup { get; set; }
}

internal sealed class DeploymentConfigurationDocument
{
    public int? MinimumHealthyPercent { get; set; }

    public int? MaximumPercent { get; set; }

    public bool? CircuitBreakerEnable { get; set; }

    public bool? CircuitBreakerRollback { get; set; }
}

internal sealed class PlacementDocument
{
    public string? Type { get; set; }

    /// <summary>A strategy's field or a constraint's expression.</summary>
    public string? Value { get; set; }
}

internal sealed class DeploymentDocument
{
    public string? Id { get; set; }

    public string? Status { get; set; }

    public string? TaskDefinition { get; set; }

    public int DesiredCount { get; set; }

    public int FailedTasks { get; set; }

    public string? RolloutState { get; set; }

    public string? RolloutStateReason { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }

    public string? LaunchType { get; set; }
}

internal sealed class EventDocument
{
    public string? Id { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public string? Message { get; set; }
}

/// <summary>Source-generated JSON for the stored documents (no reflection at run time).</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingDefault,
    Converters = [typeof(UnixTicksConverter)])]
[JsonSerializable(typeof(TaskDetailsDocument))]
[JsonSerializable(typeof(HostFactsDocument))]
[JsonSerializable(typeof(ServiceDocument))]
[JsonSerializable(typeof(LoadBalancingDocument))]
[JsonSerializable(typeof(ScalableTargetDocument))]
[JsonSerializable(typeof(SecurityGroupDocument))]
[JsonSerializable(typeof(HostGroupDocument))]
[JsonSerializable(typeof(CapacityProviderDocument))]
[JsonSerializable(typeof(ClusterCapacityDocument))]
[JsonSerializable(typeof(CertificateDocument))]
[JsonSerializable(typeof(SortedDictionary<string, string>))]
[JsonSerializable(typeof(Dictionary<string, string>))]
internal sealed partial class StoredDocumentsContext : JsonSerializerContext;

/// <summary>A time as 100-ns ticks since the Unix epoch, UTC.</summary>
internal sealed class UnixTicksConverter : JsonConverter<DateTimeOffset>
{
    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        new(reader.GetInt64() + DateTimeOffset.UnixEpoch.Ticks, TimeSpan.Zero);

    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options) =>
        writer.WriteNumberValue(value.UtcTicks - DateTimeOffset.UnixEpoch.Ticks);
}

/// <summary>Encoding and decoding of the stored documents, with the schema check.</summary>
internal static class StoredDocuments
{
    /// <summary>The schema this scheduler writes and reads.</summary>
    public const int Schema = 1;

    public static byte[] Encode(TaskDetailsDocument document) => JsonSerializer.SerializeToUtf8Bytes(document, StoredDocumentsContext.Default.TaskDetailsDocument);

    public static byte[] Encode(HostFactsDocument document) => JsonSerializer.SerializeToUtf8Bytes(document, StoredDocumentsContext.Default.HostFactsDocument);

    public static byte[] Encode(ServiceDocument document) => JsonSerializer.SerializeToUtf8Bytes(document, StoredDocumentsContext.Default.ServiceDocument);

    public static byte[] Encode(SortedDictionary<string, string> attributes) => JsonSerializer.SerializeToUtf8Bytes(attributes, StoredDocumentsContext.Default.SortedDictionaryStringString);

    public static byte[] Encode(LoadBalancingDocument document) => JsonSerializer.SerializeToUtf8Bytes(document, StoredDocumentsContext.Default.LoadBalancingDocument);

    public static byte[] Encode(ScalableTargetDocument document) => JsonSerializer.SerializeToUtf8Bytes(document, StoredDocumentsContext.Default.ScalableTargetDocument);

    public static byte[] Encode(SecurityGroupDocument document) => JsonSerializer.SerializeToUtf8Bytes(document, StoredDocumentsContext.Default.SecurityGroupDocument);

    public static SecurityGroupDocument DecodeSecurityGroup(ReadOnlySpan<byte> json) =>
        Checked(JsonSerializer.Deserialize(json, StoredDocumentsContext.Default.SecurityGroupDocument), d => d.Schema, "security group");

    public static ScalableTargetDocument DecodeScalableTarget(ReadOnlySpan<byte> json) =>
        Checked(JsonSerializer.Deserialize(json, StoredDocumentsContext.Default.ScalableTargetDocument), d => d.Schema, "scalable target");

    public static byte[] Encode(HostGroupDocument document) => JsonSerializer.SerializeToUtf8Bytes(document, StoredDocumentsContext.Default.HostGroupDocument);

    public static HostGroupDocument DecodeHostGroup(ReadOnlySpan<byte> json) =>
        Checked(JsonSerializer.Deserialize(json, StoredDocumentsContext.Default.HostGroupDocument), d => d.Schema, "host group");

    public static byte[] Encode(CapacityProviderDocument document) => JsonSerializer.SerializeToUtf8Bytes(document, StoredDocumentsContext.Default.CapacityProviderDocument);

    public static CapacityProviderDocument DecodeCapacityProvider(ReadOnlySpan<byte> json) =>
        Checked(JsonSerializer.Deserialize(json, StoredDocumentsContext.Default.CapacityProviderDocument), d => d.Schema, "capacity provider");

    public static byte[] Encode(ClusterCapacityDocument document) => JsonSerializer.SerializeToUtf8Bytes(document, StoredDocumentsContext.Default.ClusterCapacityDocument);

    public static ClusterCapacityDocument DecodeClusterCapacity(ReadOnlySpan<byte> json) =>
        Checked(JsonSerializer.Deserialize(json, StoredDocumentsContext.Default.ClusterCapacityDocument), d => d.Schema, "cluster capacity providers");

    public static byte[] Encode(CertificateDocument document) => JsonSerializer.SerializeToUtf8Bytes(document, StoredDocumentsContext.Default.CertificateDocument);

    public static CertificateDocument DecodeCertificate(ReadOnlySpan<byte> json) =>
        Checked(JsonSerializer.Deserialize(json, StoredDocumentsContext.Default.CertificateDocument), d => d.Schema, "certificate");

    public static LoadBalancingDocument DecodeLoadBalancing(ReadOnlySpan<byte> json) =>
        Checked(JsonSerializer.Deserialize(json, StoredDocumentsContext.Default.LoadBalancingDocument), d => d.Schema, "load-balancing");

    public static TaskDetailsDocument DecodeTaskDetails(ReadOnlySpan<byte> json) =>
        Checked(JsonSerializer.Deserialize(json, StoredDocumentsContext.Default.TaskDetailsDocument), d => d.Schema, "task details");

    public static HostFactsDocument DecodeHostFacts(ReadOnlySpan<byte> json) =>
        Checked(JsonSerializer.Deserialize(json, StoredDocumentsContext.Default.HostFactsDocument), d => d.Schema, "host facts");

    public static ServiceDocument DecodeService(ReadOnlySpan<byte> json) =>
        Checked(JsonSerializer.Deserialize(json, StoredDocumentsContext.Default.ServiceDocument), d => d.Schema, "service");

    public static Dictionary<string, string> DecodeAttributes(ReadOnlySpan<byte> json) =>
        JsonSerializer.Deserialize(json, StoredDocumentsContext.Default.DictionaryStringString) ?? [];

    private static T Checked<T>(T? document, Func<T, int> schema, string what)
        where T : class
    {
        if (document is null)
        {
            throw new InvalidDataException($"A stored {what} document is empty.");
        }

        var version = schema(document);
        return version == Schema
            ? document
            : throw new InvalidDataException($"A stored {what} document has schema {version}; this scheduler reads schema {Schema} (a newer scheduler wrote it?).");
    }
}
