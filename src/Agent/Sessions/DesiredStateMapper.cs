using Berth.Agent.Runtime;
using Berth.Agent.Tasks;
using Berth.Core.TaskDefinitions;
using TaskDefinition = Berth.Core.TaskDefinitions.TaskDefinition;
using ContainerDefinition = Berth.Core.TaskDefinitions.ContainerDefinition;
using Berth.Scheduler.V1;
using ContainerSpec = Berth.Agent.Tasks.ContainerSpec;
using ProtoCredential = Berth.Scheduler.V1.RegistryCredential;
using RegistryCredential = Berth.Agent.Runtime.RegistryCredential;

namespace Berth.Agent.Sessions;

/// <summary>Turns the scheduler's <see cref="DesiredState"/> (ECS task definitions + assignments) into the agent's <see cref="DesiredTaskSet"/>.</summary>
internal static class DesiredStateMapper
{
    public static DesiredTaskSet Map(DesiredState desired)
    {
        var definitions = new Dictionary<string, (TaskDefinition? Definition, string? Error)>(StringComparer.Ordinal);
        foreach (var document in desired.TaskDefinitions)
        {
            try
            {
                definitions[document.TaskDefinitionArn] = (TaskDefinitionJson.ParseStored(document.TaskDefinitionJson), null);
            }
            catch (Exception ex) when (ex is TaskDefinitionException or System.Text.Json.JsonException)
            {
                definitions[document.TaskDefinitionArn] = (null, $"CannotParseTaskDefinition: {ex.Message}");
            }
        }

        var tasks = desired.Tasks.Select(t => MapTask(t, definitions)).ToList();
        return new DesiredTaskSet(desired.Version, tasks, desired.InstanceStatus == ContainerInstanceStatus.Inactive);
    }

    private static TaskSpec MapTask(DesiredTask task, Dictionary<string, (TaskDefinition? Definition, string? Error)> definitions)
    {
        var (definition, error) = definitions.GetValueOrDefault(task.TaskDefinitionArn, (null, $"CannotParseTaskDefinition: {task.TaskDefinitionArn} was not sent"));
        var spec = new TaskSpec
        {
            TaskId = task.TaskId,
            TaskArn = task.TaskArn,
            Cluster = task.Cluster,
            TaskDefinition = FamilyRevision(task.TaskDefinitionArn),
            Containers = [],
            DesiredRunning = task.DesiredStatus != LifecycleStatus.Stopped,
            StopCode = task.StopCode switch
            {
                StopCode.UserInitiated => TaskStopCode.UserInitiated,
                StopCode.ServiceSchedulerInitiated => TaskStopCode.ServiceSchedulerInitiated,
                StopCode.EssentialContainerExited => TaskStopCode.EssentialContainerExited,
                StopCode.TaskFailedToStart => TaskStopCode.TaskFailedToStart,
                _ => TaskStopCode.None,
            },
            StoppedReason = string.IsNullOrEmpty(task.StoppedReason) ? null : task.StoppedReason,
            Credentials = task.RegistryCredentials.Select(ToCredential).ToList(),
            EnableExecuteCommand = task.EnableExecuteCommand,
        };
        if (definition is null)
        {
            return spec with { InvalidReason = error };
        }

        var overrides = task.Overrides?.ContainerOverrides.ToDictionary(o => o.Name, StringComparer.Ordinal) ?? [];
        var volumes = (definition.Volumes ?? []).Where(v => v.Name is not null).ToDictionary(v => v.Name!, StringComparer.Ordinal);
        var containers = (definition.ContainerDefinitions ?? [])
            .Select(c => MapContainer(c, task, overrides.GetValueOrDefault(c.Name ?? string.Empty)) with
            {
                Mounts = (c.MountPoints ?? []).Where(m => m.SourceVolume is not null && volumes.ContainsKey(m.SourceVolume))
                    .Select(m => MapMount(m, volumes[m.SourceVolume!], task.TaskId)).ToList(),
                Log = c.LogConfiguration is { LogDriver: { Length: > 0 } driver } log
                    ? new LogConfigSpec(driver, log.Options ?? new Dictionary<string, string>())
                    : null,
            })
            .ToList();
        return spec with
        {
            Containers = containers,
            CpuLimit = TaskResources.TryParseCpu(definition.Cpu, out var cpu) ? cpu : 0,
            NetworkMode = definition.NetworkMode switch
            {
                "host" => "host",
                "none" => "none",

                // bridge, and awsvpc until tasks get networks of their own: the engine's default bridge.
                _ => null,
            },
        };
    }

    private static ContainerSpec MapContainer(ContainerDefinition c, DesiredTask task, ContainerOverride? o)
    {
        var name = c.Name ?? string.Empty;
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var e in c.Environment ?? [])
        {
            if (e.Name is { Length: > 0 })
            {
                environment[e.Name] = e.Value ?? string.Empty;
            }
        }

        foreach (var e in o?.Environment ?? [])
        {
            environment[e.Name] = e.Value;
        }

        var ports = (c.PortMappings ?? []).Where(p => p.ContainerPort is > 0).Select(p =>
        {
            var assigned = task.PortAssignments.FirstOrDefault(a => a.ContainerName == name && a.ContainerPort == p.ContainerPort
                && string.Equals(string.IsNullOrEmpty(a.Protocol) ? "tcp" : a.Protocol, p.EffectiveProtocol, StringComparison.OrdinalIgnoreCase));
            return new PortBindingSpec(p.ContainerPort!.Value, p.EffectiveProtocol, assigned?.HostPort ?? p.HostPort ?? 0);
        }).ToList();

        return new ContainerSpec
        {
            Name = name,
            Image = c.Image ?? string.Empty,
            Essential = c.IsEssential,
            Cpu = c.Cpu ?? 0,
            Memory = c.Memory,
            MemoryReservation = c.MemoryReservation,
            Ports = ports,
            Environment = environment,
            Command = o is { CommandSet: true } || o?.Command.Count > 0 ? o.Command.ToList() : c.Command,
            EntryPoint = c.EntryPoint,
            DependsOn = (c.DependsOn ?? [])
                .Where(d => d.ContainerName is not null)
                .Select(d => (d.ContainerName!, d.Condition?.ToUpperInvariant() switch
                {
                    "COMPLETE" => DependencyCondition.Complete,
                    "SUCCESS" => DependencyCondition.Success,
                    "HEALTHY" => DependencyCondition.Healthy,
                    _ => DependencyCondition.Start,
                }))
                .ToList(),
            HealthCheck = c.HealthCheck is { Command: { Count: > 0 } command } h && command[0] != "NONE"
                ? new HealthCheckSpec(
                    command,
                    TimeSpan.FromSeconds(h.Interval ?? 30),
                    TimeSpan.FromSeconds(h.Timeout ?? 5),
                    h.Retries ?? 3,
                    TimeSpan.FromSeconds(h.StartPeriod ?? 0))
                : null,
            StopTimeout = c.StopTimeout is { } seconds ? TimeSpan.FromSeconds(seconds) : null,
        };
    }

    /// <summary>
    /// ECS volume kinds as Docker mounts: <c>host.sourcePath</c> binds the host path; <c>dockerVolumeConfiguration</c> with
    /// <c>shared</c> scope uses the volume by its own name (created only with <c>autoprovision</c>); anything else (task
    /// scope, or a volume with no source) is a volume of this task alone, named after it and removed with it.
    /// </summary>
    private static MountSpec MapMount(Berth.Core.TaskDefinitions.MountPoint mount, VolumeDefinition volume, string taskId)
    {
        var target = mount.ContainerPath ?? "/";
        var readOnly = mount.ReadOnly ?? false;
        if (volume.Host?.SourcePath is { Length: > 0 } source)
        {
            return new MountSpec(MountKind.Bind, source, target, readOnly);
        }

        var docker = volume.DockerVolumeConfiguration;
        var labels = new Dictionary<string, string>(docker?.Labels ?? [], StringComparer.Ordinal);
        var shared = docker?.EffectiveScope == "shared";
        if (!shared)
        {
            labels[ContainerLabels.TaskId] = taskId;
        }

        // The per-task name is built like a container name: deterministic, so a restarted agent finds the same volume.
        return new MountSpec(MountKind.Volume, shared ? volume.Name! : TaskEngine.ContainerName(taskId, volume.Name!), target, readOnly)
        {
            Driver = docker?.Driver,
            DriverOptions = docker?.DriverOpts ?? new Dictionary<string, string>(),
            Labels = labels,
            MustExist = shared && docker?.Autoprovision != true,
        };
    }

    private static RegistryCredential ToCredential(ProtoCredential c) => new(c.Registry, c.Username, c.Password);

    /// <summary><c>arn:...:task-definition/web:3</c> -> <c>web:3</c>; anything else as it is.</summary>
    private static string FamilyRevision(string arn)
    {
        var slash = arn.LastIndexOf('/');
        return slash >= 0 ? arn[(slash + 1)..] : arn;
    }
}
