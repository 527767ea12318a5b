namespace Berth.Agent.Tasks;

/// <summary>When the agent pulls a task's image (ECS_IMAGE_PULL_BEHAVIOR).</summary>
internal enum ImagePullBehavior
{
    /// <summary>Pull; if the pull fails, use the cached image when there is one.</summary>
    Default,

    /// <summary>Always pull; a failed pull fails the task.</summary>
    Always,

    /// <summary>Pull only if this agent has not pulled the image before (or it was cleaned up).</summary>
    Once,

    /// <summary>Use the cached image when there is one; pull otherwise.</summary>
    PreferCached,
}
