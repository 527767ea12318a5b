namespace Berth.Core.ClusterQuery;

/// <summary>
/// What a cluster query can ask about one container instance. The placement engine's instance view implements it,
/// and so can anything else that filters instances (for example <c>ListContainerInstances --filter</c>).
/// </summary>
public interface IClusterQueryTarget
{
    /// <summary>The container instance id (the <c>instanceId</c> and <c>ec2InstanceId</c> subjects).</summary>
    string InstanceId { get; }

    /// <summary>Whether the instance's agent holds a session with the scheduler (the <c>agentConnected</c> subject).</summary>
    bool AgentConnected { get; }

    /// <summary>The agent's version, for example <c>1.14.5</c>; null when unknown (the <c>agentVersion</c> subject).</summary>
    string? AgentVersion { get; }

    /// <summary>When the instance registered (the <c>registeredAt</c> subject).</summary>
    DateTimeOffset RegisteredAt { get; }

    /// <summary>The number of tasks on the instance (the <c>runningTasksCount</c> subject).</summary>
    int RunningTasksCount { get; }

    /// <summary>
    /// Looks up an attribute by its canonical name (see <see cref="AttributeNames.Normalize"/>): <c>berth.zone</c>,
    /// never <c>ecs.availability-zone</c>. An attribute may exist with a null value.
    /// </summary>
    bool TryGetAttribute(string name, out string? value);

    /// <summary>Whether at least one task of <paramref name="group"/> is on the instance (the <c>task:group</c> subject).</summary>
    bool HasTaskGroup(string group);

    /// <summary>The groups with at least one task on the instance, for patterns and lists over <c>task:group</c>.</summary>
    IEnumerable<string> TaskGroups { get; }
}
