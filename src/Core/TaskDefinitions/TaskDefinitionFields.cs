using System.Text.Json;

namespace Berth.Core.TaskDefinitions;

/// <summary>A field of a task-definition document that ECS does not define, with the known field it most resembles.</summary>
/// <param name="Path">Where it is, e.g. <c>containerDefinitions[0].memoryy</c>.</param>
/// <param name="Name">The field name as written.</param>
/// <param name="Suggestion">The known field of the same object it most resembles (<c>memory</c>), or null when none is close.</param>
public sealed record UnknownField(string Path, string Name, string? Suggestion)
{
    /// <inheritdoc />
    public override string ToString() =>
        Suggestion is null ? $"{Path} is not a task-definition field" : $"{Path} is not a task-definition field; did you mean {Suggestion}?";
}

/// <summary>
/// The field names of ECS's RegisterTaskDefinition (and DescribeTaskDefinition's output), object by object, to tell a
/// misspelled field (<c>"memoryy": 3</c>) from one Berth merely does not use (<c>taskRoleArn</c>). Unknown fields are
/// kept when a definition registers (ECS JSON from elsewhere must register unchanged); this only finds them, so that a
/// client can warn.
/// </summary>
public static class TaskDefinitionFields
{
    private static readonly Shape s_keyValue = new(["name", "value"]);
    private static readonly Shape s_portMapping = new(["containerPort", "hostPort", "protocol", "name", "appProtocol", "containerPortRange"]);
    private static readonly Shape s_mountPoint = new(["sourceVolume", "containerPath", "readOnly"]);
    private static readonly Shape s_dependency = new(["containerName", "condition"]);
    private static readonly Shape s_healthCheck = new(["command", "interval", "timeout", "retries", "startPeriod"]);
    private static readonly Shape s_logConfiguration = new(["logDriver", "options", "secretOptions"]);
    private static readonly Shape s_placementConstraint = new(["type", "expression"]);
    private static readonly Shape s_hostVolume = new(["sourcePath"]);
    private static readonly Shape s_dockerVolume = new(["scope", "autoprovision", "driver", "driverOpts", "labels"]);

    private static readonly Shape s_volume = new(
        ["name", "host", "dockerVolumeConfiguration", "efsVolumeConfiguration", "fsxWindowsFileServerVolumeConfiguration", "configuredAtLaunch"],
        new(StringComparer.Ordinal) { ["host"] = s_hostVolume, ["dockerVolumeConfiguration"] = s_dockerVolume });

    private static readonly Shape s_container = new(
        [
            "name", "image", "repositoryCredentials", "cpu", "memory", "memoryReservation", "links", "portMappings", "essential",
            "restartPolicy", "entryPoint", "command", "environment", "environmentFiles", "mountPoints", "volumesFrom", "linuxParameters",
            "secrets", "dependsOn", "startTimeout", "stopTimeout", "versionConsistency", "hostname", "user", "workingDirectory",
            "disableNetworking", "privileged", "readonlyRootFilesystem", "dnsServers", "dnsSearchDomains", "extraHosts",
            "dockerSecurityOptions", "interactive", "pseudoTerminal", "dockerLabels", "ulimits", "logConfiguration", "healthCheck",
            "systemControls", "resourceRequirements", "firelensConfiguration", "credentialSpecs",
        ],
        new(StringComparer.Ordinal)
        {
            ["portMappings"] = s_portMapping,
            ["environment"] = s_keyValue,
            ["mountPoints"] = s_mountPoint,
            ["dependsOn"] = s_dependency,
            ["healthCheck"] = s_healthCheck,
            ["logConfiguration"] = s_logConfiguration,
        });

    private static readonly Shape s_taskDefinition = new(
        [
            "family", "taskRoleArn", "executionRoleArn", "networkMode", "containerDefinitions", "volumes", "placementConstraints",
            "requiresCompatibilities", "cpu", "memory", "tags", "pidMode", "ipcMode", "proxyConfiguration", "inferenceAccelerators",
            "ephemeralStorage", "runtimePlatform", "enableFaultInjection",

            // DescribeTaskDefinition's output, accepted when a described definition is registered again.
            "taskDefinitionArn", "revision", "status", "registeredAt", "registeredBy", "deregisteredAt", "compatibilities", "requiresAttributes",
        ],
        new(StringComparer.Ordinal)
        {
            ["containerDefinitions"] = s_container,
            ["volumes"] = s_volume,
            ["placementConstraints"] = s_placementConstraint,
        });

    /// <summary>
    /// Every field of <paramref name="json"/> that ECS does not define, in document order. Free-form maps (options,
    /// labels, driverOpts) are not looked into. Malformed JSON has none (parsing reports it).
    /// </summary>
    public static IReadOnlyList<UnknownField> FindUnknown(string json)
    {
        var found = new List<UnknownField>();
        try
        {
            using var document = JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return found;
            }

            // A DescribeTaskDefinition output wraps the definition (as TaskDefinitionJson.Parse accepts it).
            if (root.TryGetProperty("taskDefinition", out var inner) && inner.ValueKind == JsonValueKind.Object && !root.TryGetProperty("containerDefinitions", out _))
            {
                root = inner;
            }

            Walk(root, s_taskDefinition, string.Empty, found);
        }
        catch (JsonException)
        {
        }

        return found;
    }

    private static void Walk(JsonElement element, Shape shape, string path, List<UnknownField> found)
    {
        foreach (var property in element.EnumerateObject())
        {
            var here = path.Length == 0 ? property.Name : $"{path}.{property.Name}";
            if (!shape.Fields.Contains(property.Name))
            {
                found.Add(new UnknownField(here, property.Name, Closest(property.Name, shape.Fields)));
                continue;
            }

            if (shape.Children.GetValueOrDefault(property.Name) is not { } child)
            {
                continue;
            }

            if (property.Value.ValueKind == JsonValueKind.Object)
            {
                Walk(property.Value, child, here, found);
            }
            else if (property.Value.ValueKind == JsonValueKind.Array)
            {
                var index = 0;
                foreach (var item in property.Value.EnumerateArray())
                {
                    if (item.ValueKind == JsonValueKind.Object)
                    {
                        Walk(item, child, $"{here}[{index}]", found);
                    }

                    index++;
                }
            }
        }
    }

    /// <summary>The known name nearest to <paramref name="name"/> by edit distance (case-insensitive), when it is close enough to be a slip.</summary>
    internal static string? Closest(string name, IEnumerable<string> known)
    {
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var candidate in known)
        {
            var distance = Distance(name.ToLowerInvariant(), candidate.ToLowerInvariant());
            if (distance < bestDistance)
            {
                (best, bestDistance) = (candidate, distance);
            }
        }

        // A slip is a few edits, relative to the word: `memoryy` -> `memory` (1), `contianerPort` -> `containerPort` (2);
        // `foo` is no misspelling of `cpu`.
        return best is not null && bestDistance <= Math.Max(1, Math.Min(3, name.Length / 3)) ? best : null;
    }

    /// <summary>Levenshtein distance with adjacent transpositions (optimal string alignment).</summary>
    private static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++)
        {
            d[i, 0] = i;
        }

        for (var j = 0; j <= b.Length; j++)
        {
            d[0, j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                {
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
                }
            }
        }

        return d[a.Length, b.Length];
    }

    /// <summary>The fields of one kind of object, and the shapes of those that hold objects (or arrays of them).</summary>
    private sealed class Shape(string[] fields, Dictionary<string, Shape>? children = null)
    {
        public HashSet<string> Fields { get; } = new(fields, StringComparer.Ordinal);

        public Dictionary<string, Shape> Children { get; } = children ?? new(StringComparer.Ordinal);
    }
}
