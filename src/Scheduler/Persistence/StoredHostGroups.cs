using Berth.Scheduler.HostGroups;
using Berth.Scheduler.Kernel;

namespace Berth.Scheduler.Persistence;

/// <summary>
/// Schema 1 of a host group (host_groups.Document): size, host settings, the hosts it owns and its newest activities.
/// Its own shapes, not the API's messages nor the HostGroups types, so either may change without rewriting rows.
/// </summary>
internal sealed class HostGroupDocument
{
    public int Schema { get; set; } = StoredDocuments.Schema;

    public string? Id { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public int Min { get; set; }

    public int Max { get; set; }

    public int Desired { get; set; }

    public string? InstanceType { get; set; }

    public List<string>? Zones { get; set; }

    public Dictionary<string, string>? Attributes { get; set; }

    public long GraceMs { get; set; }

    public bool Deleting { get; set; }

    public string? DesiredCause { get; set; }

    public List<GroupHostDocument>? Hosts { get; set; }

    public List<HostGroupActivityDocument>? Activities { get; set; }
}

/// <summary>A host of a group: <see cref="State"/> 0 pending, 1 in service, 2 draining, 3 terminating.</summary>
internal sealed class GroupHostDocument
{
    public string? Name { get; set; }

    public string? Zone { get; set; }

    public int State { get; set; }

    public DateTimeOffset LaunchedAt { get; set; }

    public string? InstanceId { get; set; }

    public string? ActivityId { get; set; }
}

/// <summary>An activity: <see cref="Status"/> 0 in progress, 1 successful, 2 failed, 3 cancelled.</summary>
internal sealed class HostGroupActivityDocument
{
    public string? Id { get; set; }

    public string? Description { get; set; }

    public string? Cause { get; set; }

    public DateTimeOffset StartTime { get; set; }

    public DateTimeOffset? EndTime { get; set; }

    public int Status { get; set; }

    public string? Message { get; set; }
}

/// <summary>Host group records to and from their rows.</summary>
internal static class StoredHostGroups
{
    public static HostGroupRow ToRow(HostGroupRecord record) => new()
    {
        Cluster = record.Cluster,
        Name = record.Name,
        Document = StoredDocuments.Encode(new HostGroupDocument
        {
            Id = record.Id,
            CreatedAt = record.CreatedAt,
            Min = record.Size.Min,
            Max = record.Size.Max,
            Desired = record.Size.Desired,
            InstanceType = record.Spec.InstanceType,
            Zones = [.. record.Spec.Zones],
            Attributes = record.Spec.Attributes.ToDictionary(a => a.Key, a => a.Value, StringComparer.Ordinal),
            GraceMs = (long)record.Spec.HealthCheckGracePeriod.TotalMilliseconds,
            Deleting = record.Deleting,
            DesiredCause = record.DesiredCause,
            Hosts = [.. record.Hosts.Select(h => new GroupHostDocument
            {
                Name = h.Name,
                Zone = h.Zone,
                State = (int)h.State,
                LaunchedAt = h.LaunchedAt,
                InstanceId = h.InstanceId,
                ActivityId = h.ActivityId,
            })],
            Activities = [.. record.Activities.Select(a => new HostGroupActivityDocument
            {
                Id = a.Id,
                Description = a.Description,
                Cause = a.Cause,
                StartTime = a.StartTime,
                EndTime = a.EndTime,
                Status = (int)a.Status,
                Message = a.StatusMessage,
            })],
        }),
    };

    public static HostGroupRecord FromRow(HostGroupRow row)
    {
        var d = StoredDocuments.DecodeHostGroup(row.Document);
        var record = new HostGroupRecord
        {
            Cluster = row.Cluster,
            Name = row.Name,
            Id = d.Id ?? "",
            CreatedAt = d.CreatedAt,
            Size = new HostGroupSize(d.Min, d.Max, d.Desired),
            Spec = new HostGroupSpec(d.InstanceType ?? "", d.Zones ?? [], d.Attributes ?? [], TimeSpan.FromMilliseconds(d.GraceMs)),
            Deleting = d.Deleting,
            DesiredCause = d.DesiredCause ?? "",
        };
        foreach (var h in d.Hosts ?? [])
        {
            record.Hosts.Add(new GroupHost
            {
                Name = h.Name ?? "",
                Zone = h.Zone ?? "",
                State = (GroupHostState)h.State,
                LaunchedAt = h.LaunchedAt,
                InstanceId = h.InstanceId,
                ActivityId = h.ActivityId ?? "",
            });
        }

        foreach (var a in d.Activities ?? [])
        {
            record.Activities.Add(new HostGroupActivity
            {
                Id = a.Id ?? "",
                Description = a.Description ?? "",
                Cause = a.Cause ?? "",
                StartTime = a.StartTime,
                EndTime = a.EndTime,
                Status = (ActivityStatus)a.Status,
                StatusMessage = a.Message ?? "",
            });
        }

        return record;
    }
}
