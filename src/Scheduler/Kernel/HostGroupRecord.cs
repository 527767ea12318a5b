using Berth.Scheduler.HostGroups;

namespace Berth.Scheduler.Kernel;

/// <summary>
/// A host group (issue 18's auto scaling group): its size, what its hosts are, the hosts it owns and its recent scaling
/// activities. Owned by its cluster's <see cref="ClusterState.HostGroups"/>, read and changed only under the cluster's
/// lock, stored through the transaction like every other record. A capacity provider will wrap one by name (or ARN) and
/// change <see cref="Size"/> the way a user's update does.
/// </summary>
internal sealed class HostGroupRecord
{
    public required string Cluster { get; init; }

    public required string Name { get; init; }

    /// <summary>A UUID, part of the ARN as in Auto Scaling's (a group re-created under a name has a new one).</summary>
    public required string Id { get; init; }

    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>Min, max and desired.</summary>
    public required HostGroupSize Size { get; set; }

    /// <summary>What every host of the group is: instance type, zones, attributes, health check grace period.</summary>
    public required HostGroupSpec Spec { get; set; }

    /// <summary>Set by a forced delete: every host is terminated, then the record goes.</summary>
    public bool Deleting { get; set; }

    /// <summary>The hosts the group owns, each recorded (its name chosen) before the provisioner is asked to make it.</summary>
    public List<GroupHost> Hosts { get; } = [];

    /// <summary>The newest activities first, at most <see cref="HostGroupActivity.Kept"/>.</summary>
    public List<HostGroupActivity> Activities { get; } = [];

    /// <summary>
    /// Why the desired capacity is what it is, in Auto Scaling's words ("At ... a user request update of AutoScalingGroup
    /// constraints to ..."): the first sentence of every launch or termination cause that follows it.
    /// </summary>
    public string DesiredCause { get; set; } = "";

    /// <summary>Auto Scaling's ARN shape, partition <c>berth</c> and region <c>local</c>.</summary>
    public string Arn => $"arn:berth:autoscaling:local:autoScalingGroup:{Id}:autoScalingGroupName/{Name}";

    public GroupHost? Host(string name) => Hosts.Find(h => h.Name == name);

    /// <summary>Adds an activity as the newest, dropping the oldest beyond <see cref="HostGroupActivity.Kept"/>.</summary>
    public void Record(HostGroupActivity activity)
    {
        Activities.Insert(0, activity);
        if (Activities.Count > HostGroupActivity.Kept)
        {
            Activities.RemoveRange(HostGroupActivity.Kept, Activities.Count - HostGroupActivity.Kept);
        }
    }

    public HostGroupActivity? Activity(string id) => Activities.Find(a => a.Id == id);
}
