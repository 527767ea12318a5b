namespace Berth.Agent.Tasks;

/// <summary>
/// Labels on every container the agent creates. They are the agent's memory: after a restart it finds its
/// containers by <see cref="Agent"/> and knows from the others which task and container each one is.
/// </summary>
internal static class ContainerLabels
{
    /// <summary>The agent's scope (<c>AgentOptions.Scope</c>): agents sharing an engine never touch each other's containers.</summary>
    public const string Agent = "berth.agent";
    /// <summary>Also on task-scoped volumes, which are removed with the task's containers.</summary>
    public const string TaskId = "berth.task-id";
    public const string TaskArn = "berth.task-arn";
    public const string Cluster = "berth.cluster";
    public const string ContainerName = "berth.container-name";

    /// <summary><c>family:revision</c>.</summary>
    public const string TaskDefinition = "berth.task-definition";
    public const string Essential = "berth.essential";
}
