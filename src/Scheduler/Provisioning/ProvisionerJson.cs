using System.Text.Json;
using System.Text.Json.Serialization;

namespace Berth.Scheduler.Provisioning;

/// <summary>
/// One host as provisioner programs print it (lab/host.sh and exec scripts alike; docs/provisioning.md): the wire
/// shape, kept apart from <see cref="ProvisionedHost"/>.
/// </summary>
internal sealed class HostRecord
{
    public string? Name { get; set; }

    /// <summary><c>creating</c>, <c>running</c> or <c>failed</c>; absent in a create's answer (it is running).</summary>
    public string? State { get; set; }

    public string? Address { get; set; }

    public string? ProviderId { get; set; }

    public string? InstanceArn { get; set; }

    /// <summary>The lab's namespace: its provider id.</summary>
    public string? Namespace { get; set; }

    public ProvisionedHost ToHost(ProvisionedHostState defaultState) => new(
        Name ?? "",
        State switch
        {
            null => defaultState,
            "creating" => ProvisionedHostState.Creating,
            "running" => ProvisionedHostState.Running,
            "failed" => ProvisionedHostState.Failed,
            _ => ProvisionedHostState.Unknown,
        },
        Address ?? "",
        ProviderId ?? Namespace ?? "",
        InstanceArn ?? "");
}

/// <summary>The request as an exec script reads it on stdin.</summary>
internal sealed class HostRequestDocument
{
    public required string Name { get; init; }

    public required string Cluster { get; init; }

    public required string SchedulerUrl { get; init; }

    public required string JoinToken { get; init; }

    public required string Zone { get; init; }

    public required string InstanceType { get; init; }

    public required IReadOnlyDictionary<string, string> Attributes { get; init; }

    public static HostRequestDocument From(HostRequest request) => new()
    {
        Name = request.Name,
        Cluster = request.Cluster,
        SchedulerUrl = request.SchedulerUrl.ToString().TrimEnd('/'),
        JoinToken = request.JoinToken,
        Zone = request.Zone,
        InstanceType = request.InstanceType,
        Attributes = request.AgentAttributes,
    };
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(HostRecord))]
[JsonSerializable(typeof(List<HostRecord>))]
[JsonSerializable(typeof(HostRequestDocument))]
[JsonSerializable(typeof(Dictionary<string, object>))]
[JsonSerializable(typeof(SortedDictionary<string, string>))]
internal sealed partial class ProvisionerJsonContext : JsonSerializerContext;

/// <summary>Parsing of what provisioner programs print, with the program's output in every error.</summary>
internal static class ProvisionerJson
{
    /// <summary>The host a create printed: one JSON object on stdout whose name is the requested one.</summary>
    public static ProvisionedHost ParseCreated(string what, string name, ProvisionerOutput output)
    {
        var record = Parse(what, output, ProvisionerJsonContext.Default.HostRecord);
        if (record is null || record.Name != name)
        {
            throw new ProvisionerException($"{what} printed a host named '{record?.Name}', not '{name}'.", ProvisionerErrorKind.Failed, output.Combined);
        }

        return record.ToHost(ProvisionedHostState.Running);
    }

    /// <summary>The hosts a list printed: one JSON array on stdout; entries without a valid name are refused.</summary>
    public static IReadOnlyList<ProvisionedHost> ParseList(string what, ProvisionerOutput output)
    {
        var records = Parse(what, output, ProvisionerJsonContext.Default.ListHostRecord) ?? [];
        var bad = records.FirstOrDefault(r => !HostRequest.IsValidName(r.Name));
        if (bad is not null)
        {
            throw new ProvisionerException($"{what} listed a host with an invalid name '{bad.Name}'.", ProvisionerErrorKind.Failed, output.Combined);
        }

        return [.. records.Select(r => r.ToHost(ProvisionedHostState.Unknown))];
    }

    private static T? Parse<T>(string what, ProvisionerOutput output, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type)
    {
        try
        {
            return JsonSerializer.Deserialize(output.StandardOutput.Trim(), type);
        }
        catch (JsonException e)
        {
            throw new ProvisionerException($"{what} did not print the JSON the contract asks for: {e.Message}", ProvisionerErrorKind.Failed, output.Combined, e);
        }
    }
}
