namespace Berth.Core.TaskDefinitions;

// Validation of what a task keeps and writes: volumes, mount points and log configuration. Berth's agent applies these
// to Docker, so the rules are Docker's where ECS would accept something the engine then refuses.
public static partial class TaskDefinitionJson
{
    /// <summary>Log drivers the Docker engine (20.10, Linux) has built in; a plugin driver would need installing first.</summary>
    public static readonly IReadOnlySet<string> LogDrivers = new HashSet<string>(StringComparer.Ordinal)
    {
        "json-file", "local", "none", "syslog", "journald", "gelf", "fluentd", "awslogs", "splunk", "gcplogs", "logentries",
    };

    // Options Docker accepts for the drivers whose options it checks strictly (anything else fails at container create).
    private static readonly Dictionary<string, HashSet<string>> s_logOptions = new(StringComparer.Ordinal)
    {
        ["json-file"] = ["max-size", "max-file", "compress", "labels", "labels-regex", "env", "env-regex", "tag", "mode", "max-buffer-size"],
        ["local"] = ["max-size", "max-file", "compress", "mode", "max-buffer-size"],
        ["none"] = [],
    };

    // Volume kinds of ECS that need AWS services or Windows; kept out rather than silently run without storage.
    private static readonly string[] s_unsupportedVolumeKinds = ["efsVolumeConfiguration", "fsxWindowsFileServerVolumeConfiguration", "configuredAtLaunch"];

    private static HashSet<string> ValidateVolumes(List<VolumeDefinition>? volumes, Action<string, string> fail)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < (volumes?.Count ?? 0); i++)
        {
            var at = $"volumes[{i}]";
            var volume = volumes![i];
            if (volume is null)
            {
                fail(at, "must be an object");
                continue;
            }

            if (string.IsNullOrEmpty(volume.Name))
            {
                fail($"{at}.name", "is required");
            }
            else if (!NameRegex().IsMatch(volume.Name))
            {
                fail($"{at}.name", "must be 1-255 letters, digits, hyphens and underscores");
            }
            else if (!names.Add(volume.Name))
            {
                fail($"{at}.name", $"duplicate volume name '{volume.Name}'");
            }

            foreach (var kind in s_unsupportedVolumeKinds)
            {
                if (volume.ExtensionData?.ContainsKey(kind) == true)
                {
                    fail($"{at}.{kind}", "is not supported by Berth; use host (a bind mount) or dockerVolumeConfiguration");
                }
            }

            if (volume.Host?.SourcePath is { } source && !source.StartsWith('/'))
            {
                fail($"{at}.host.sourcePath", "must be an absolute path");
            }

            if (volume.DockerVolumeConfiguration is not { } docker)
            {
                continue;
            }

            if (volume.Host is not null)
            {
                fail($"{at}.dockerVolumeConfiguration", "cannot be combined with host");
            }

            if (docker.EffectiveScope is not ("task" or "shared"))
            {
                fail($"{at}.dockerVolumeConfiguration.scope", "must be task or shared");
            }

            if (docker.Autoprovision == true && docker.EffectiveScope == "task")
            {
                fail($"{at}.dockerVolumeConfiguration.autoprovision", "applies only to shared scope");
            }

            if (docker.Driver is { } driver && (driver.Length is 0 or > 255 || driver.Any(char.IsWhiteSpace)))
            {
                fail($"{at}.dockerVolumeConfiguration.driver", "must be a volume driver name");
            }
        }

        return names;
    }

    private static void ValidateMountPoints(string at, List<MountPoint>? mounts, HashSet<string> volumeNames, Action<string, string> fail)
    {
        var targets = new HashSet<string>(StringComparer.Ordinal);
        for (var m = 0; m < (mounts?.Count ?? 0); m++)
        {
            var mount = mounts![m];
            var mat = $"{at}.mountPoints[{m}]";
            if (mount is null)
            {
                fail(mat, "must be an object");
                continue;
            }

            if (mount.SourceVolume is not { } source || !volumeNames.Contains(source))
            {
                fail($"{mat}.sourceVolume", "must name a volume of the task");
            }

            if (string.IsNullOrEmpty(mount.ContainerPath) || !mount.ContainerPath.StartsWith('/'))
            {
                fail($"{mat}.containerPath", "must be an absolute path");
            }
            else if (mount.ContainerPath.Contains(':', StringComparison.Ordinal))
            {
                fail($"{mat}.containerPath", "must not contain ':'");
            }
            else if (!targets.Add(mount.ContainerPath.TrimEnd('/')))
            {
                fail($"{mat}.containerPath", $"'{mount.ContainerPath}' is mounted twice");
            }
        }
    }

    private static void ValidateLogConfiguration(string at, LogConfiguration? log, Action<string, string> fail)
    {
        if (log is null)
        {
            return;
        }

        if (string.IsNullOrEmpty(log.LogDriver))
        {
            fail($"{at}.logConfiguration.logDriver", "is required");
            return;
        }

        if (!LogDrivers.Contains(log.LogDriver))
        {
            fail($"{at}.logConfiguration.logDriver", $"must be one of {string.Join(", ", LogDrivers)}");
            return;
        }

        if (log.ExtensionData?.ContainsKey("secretOptions") == true)
        {
            fail($"{at}.logConfiguration.secretOptions", "is not supported by Berth");
        }

        if (s_logOptions.TryGetValue(log.LogDriver, out var known))
        {
            foreach (var key in log.Options?.Keys ?? Enumerable.Empty<string>())
            {
                if (!known.Contains(key))
                {
                    fail($"{at}.logConfiguration.options.{key}", known.Count == 0
                        ? $"the {log.LogDriver} log driver takes no options"
                        : $"is not an option of the {log.LogDriver} log driver ({string.Join(", ", known)})");
                }
            }
        }
    }
}
