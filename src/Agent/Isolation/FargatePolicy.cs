using System.Text.Json;
using Berth.Core.TaskDefinitions;

namespace Berth.Agent.Isolation;

/// <summary>
/// What a FARGATE task may not do, checked before anything runs (the scheduler checks the same at registration; the
/// agent does not trust that it did): networkMode other than awsvpc, host paths, host-scoped (shared) Docker volumes,
/// privileged containers, added capabilities. The containers also get private PID and IPC namespaces, no new
/// privileges and Docker's default capabilities (see <c>TaskEngine.BuildCreateSpec</c>).
/// </summary>
internal static class FargatePolicy
{
    /// <summary>Why the definition cannot run as FARGATE, or null.</summary>
    public static string? Check(TaskDefinition definition)
    {
        if (definition.NetworkMode != "awsvpc")
        {
            return $"FARGATE tasks need networkMode awsvpc, not {definition.NetworkMode ?? "bridge"}";
        }

        foreach (var volume in definition.Volumes ?? [])
        {
            if (volume.Host?.SourcePath is { Length: > 0 } path)
            {
                return $"FARGATE tasks cannot mount host paths: volume '{volume.Name}' has host.sourcePath {path}";
            }

            if (volume.DockerVolumeConfiguration?.EffectiveScope == "shared")
            {
                return $"FARGATE tasks cannot use host-scoped Docker volumes: volume '{volume.Name}' has scope shared";
            }
        }

        foreach (var container in definition.ContainerDefinitions ?? [])
        {
            var extension = container.ExtensionData ?? [];
            if (extension.TryGetValue("privileged", out var privileged) && privileged.ValueKind == JsonValueKind.True)
            {
                return $"FARGATE tasks cannot run privileged containers: container '{container.Name}' has privileged true";
            }

            if (extension.TryGetValue("linuxParameters", out var linux) && linux.ValueKind == JsonValueKind.Object
                && linux.TryGetProperty("capabilities", out var capabilities) && capabilities.ValueKind == JsonValueKind.Object
                && capabilities.TryGetProperty("add", out var add) && add.ValueKind == JsonValueKind.Array && add.GetArrayLength() > 0)
            {
                return $"FARGATE tasks cannot add capabilities: container '{container.Name}' has linuxParameters.capabilities.add";
            }
        }

        foreach (var mode in new[] { "pidMode", "ipcMode" })
        {
            if (definition.ExtensionData?.TryGetValue(mode, out var value) == true && value.ValueKind == JsonValueKind.String && value.GetString() == "host")
            {
                return $"FARGATE tasks cannot share the host's namespaces: {mode} is host";
            }
        }

        return null;
    }
}
