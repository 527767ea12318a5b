using Berth.Agent.Dns;
using Berth.Agent.Networking;
using Berth.Agent.Runtime;

namespace Berth.Agent.Tasks;

/// <summary>A startup condition on another container of the task (ECS <c>dependsOn</c>).</summary>
internal enum DependencyCondition
{
    /// <summary>The dependency has been started.</summary>
    Start,

    /// <summary>The dependency has run to completion (any exit code).</summary>
    Complete,

    /// <summary>The dependency has exited with code 0.</summary>
    Success,

    /// <summary>The dependency's health check passes.</summary>
    Healthy,

    /// <summary>The task's sandbox runs and has its address (internal: every container of an awsvpc task waits for it).</summary>
    NetworkReady,
}

/// <summary>Why a task stopped, in ECS's vocabulary.</summary>
internal enum TaskStopCode
{
    None,
    TaskFailedToStart,
    EssentialContainerExited,
    UserInitiated,
    ServiceSchedulerInitiated,
}

/// <summary>Where a task or container is in its life on this host.</summary>
internal enum LocalStatus
{
    Pending,
    Running,
    Stopping,
    Stopped,
}

/// <summary>Aggregated health of a task.</summary>
internal enum TaskHealth
{
    Unknown,
    Healthy,
    Unhealthy,
}

/// <summary>One container of a task as the agent runs it: the task definition's container with the scheduler's port assignments and overrides applied.</summary>
internal sealed record ContainerSpec
{
    /// <summary>
    /// The name of an awsvpc task's sandbox container, ECS's "pause" container: it holds the task's network
    /// namespace, which the task's containers join. Task-definition names cannot contain <c>~</c>, so it never clashes.
    /// </summary>
    public const string SandboxName = "~internal~berth~sandbox";

    public required string Name { get; init; }
    public required string Image { get; init; }
    public bool Essential { get; init; } = true;

    /// <summary>ECS cpu units (become Docker CPU shares).</summary>
    public int Cpu { get; init; }

    /// <summary>Hard limit in MiB.</summary>
    public int? Memory { get; init; }

    /// <summary>Soft limit in MiB.</summary>
    public int? MemoryReservation { get; init; }

    public IReadOnlyList<PortBindingSpec> Ports { get; init; } = [];
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();
    public IReadOnlyList<string>? Command { get; init; }
    public IReadOnlyList<string>? EntryPoint { get; init; }
    public IReadOnlyList<(string Container, DependencyCondition Condition)> DependsOn { get; init; } = [];
    public HealthCheckSpec? HealthCheck { get; init; }

    /// <summary>Time between SIGTERM and SIGKILL; null takes the agent's default.</summary>
    public TimeSpan? StopTimeout { get; init; }

    /// <summary>The mount points, resolved against the task's volumes (task-scoped volumes already carry their per-task name).</summary>
    public IReadOnlyList<MountSpec> Mounts { get; init; } = [];

    /// <summary>The log driver; null is the engine's default.</summary>
    public LogConfigSpec? Log { get; init; }

    /// <summary>This is the task's sandbox (see <see cref="SandboxName"/>): built by the agent, hidden from reports.</summary>
    public bool IsSandbox { get; init; }

    /// <summary>The sandbox of an awsvpc task: essential (the task cannot live without its network), never pulled.</summary>
    public static ContainerSpec Sandbox() => new()
    {
        Name = SandboxName,
        Image = SandboxImage.Reference,
        Essential = true,
        EntryPoint = [],
        Command = SandboxImage.Command,
        StopTimeout = TimeSpan.FromSeconds(5),
        IsSandbox = true,
    };
}

/// <summary>One task of the desired set.</summary>
internal sealed record TaskSpec
{
    public required string TaskId { get; init; }
    public string TaskArn { get; init; } = string.Empty;
    public required string Cluster { get; init; }

    /// <summary><c>family:revision</c>.</summary>
    public required string TaskDefinition { get; init; }

    public required IReadOnlyList<ContainerSpec> Containers { get; init; }

    /// <summary>False when the scheduler wants the task stopped.</summary>
    public bool DesiredRunning { get; init; } = true;

    public TaskStopCode StopCode { get; init; }
    public string? StoppedReason { get; init; }

    /// <summary>Task-level cpu in ECS units (0: none): the quota and weight of the task's cgroup (or, without one, each container's NanoCPUs cap).</summary>
    public int CpuLimit { get; init; }

    /// <summary>Task-level memory in MiB (0: none): the limit of the task's cgroup, shared by its containers.</summary>
    public int MemoryLimit { get; init; }

    /// <summary>The task definition's network mode: <c>bridge</c> when null, <c>host</c>, <c>none</c> or <c>awsvpc</c>.</summary>
    public string? NetworkMode { get; init; }

    /// <summary>A network namespace and address of its own (a sandbox its containers join).</summary>
    public bool Awsvpc => NetworkMode == "awsvpc";

    /// <summary>awsvpc: the security groups the task belongs to (empty: not filtered).</summary>
    public IReadOnlyList<string> SecurityGroups { get; init; } = [];

    /// <summary>The FARGATE launch type: isolated (private namespaces, no host mounts, the sandboxed runtime).</summary>
    public bool Fargate { get; init; }

    /// <summary>The OCI runtime the scheduler chose; null: the agent's default for the launch type.</summary>
    public string? Runtime { get; init; }

    public IReadOnlyList<RegistryCredential> Credentials { get; init; } = [];

    /// <summary>Exec into its containers is allowed (the scheduler's <c>enable_execute_command</c>).</summary>
    public bool EnableExecuteCommand { get; init; }

    /// <summary>Set when the task could not be turned into containers (bad or missing task definition): the task fails to start with it.</summary>
    public string? InvalidReason { get; init; }
}

/// <summary>The complete set of tasks the scheduler wants on this host, at one version, with the host's network.</summary>
internal sealed record DesiredTaskSet(long Version, IReadOnlyList<TaskSpec> Tasks, bool InstanceInactive = false)
{
    /// <summary>The host's awsvpc network; null: the agent's configured one.</summary>
    public HostNetworkSpec? HostNetwork { get; init; }

    /// <summary>The security groups the tasks belong to or refer to.</summary>
    public IReadOnlyList<SecurityGroupSpec> SecurityGroups { get; init; } = [];

    /// <summary>What the DNS server answers; null: unchanged.</summary>
    public ServiceDiscoverySpec? ServiceDiscovery { get; init; }

    /// <summary>Parts of the desired state that were dropped as malformed, in words (logged).</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];
}
