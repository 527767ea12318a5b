using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Berth.Core.TaskDefinitions;

/// <summary>One problem in a task definition, with the JSON path of the field it is about.</summary>
/// <param name="Field">The field, e.g. <c>containerDefinitions[1].portMappings[0].containerPort</c>.</param>
/// <param name="Message">What is wrong, e.g. <c>must be 1-65535</c>.</param>
public sealed record TaskDefinitionError(string Field, string Message)
{
    /// <inheritdoc />
    public override string ToString() => $"{Field}: {Message}";
}

/// <summary>Thrown when a task-definition document cannot be parsed or is not valid.</summary>
public sealed class TaskDefinitionException : Exception
{
    /// <summary>Creates the exception from the errors found.</summary>
    public TaskDefinitionException(IReadOnlyList<TaskDefinitionError> errors)
        : base(string.Join("; ", errors))
    {
        Errors = errors;
    }

    /// <summary>Creates an exception with one message.</summary>
    public TaskDefinitionException(string message) : base(message) => Errors = [new TaskDefinitionError("$", message)];

    /// <summary>Creates an exception with one message and an inner exception.</summary>
    public TaskDefinitionException(string message, Exception innerException) : base(message, innerException) =>
        Errors = [new TaskDefinitionError("$", message)];

    /// <summary>Creates an exception without detail.</summary>
    public TaskDefinitionException() : this("invalid task definition")
    {
    }

    /// <summary>Every error found, in document order.</summary>
    public IReadOnlyList<TaskDefinitionError> Errors { get; }
}

/// <summary>Parses, validates and writes ECS task-definition JSON.</summary>
public static partial class TaskDefinitionJson
{
    /// <summary>
    /// Fields of a DescribeTaskDefinition output that the registry assigns; they are dropped when a described
    /// document is registered again.
    /// </summary>
    public static readonly IReadOnlySet<string> ReadOnlyFields = new HashSet<string>(StringComparer.Ordinal)
    {
        "taskDefinitionArn", "revision", "status", "registeredAt", "registeredBy", "deregisteredAt",
        "compatibilities", "requiresAttributes",
    };

    private static readonly JsonSerializerOptions s_options = new(JsonSerializerDefaults.Web)
    {
        PropertyNameCaseInsensitive = false,
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.Strict,
    };

    private static readonly HashSet<string> s_networkModes = ["bridge", "host", "awsvpc", "none"];
    private static readonly HashSet<string> s_compatibilities = ["EC2", "FARGATE", "EXTERNAL"];
    private static readonly HashSet<string> s_conditions = ["START", "COMPLETE", "SUCCESS", "HEALTHY"];

    /// <summary>
    /// Parses and validates a document: the body of RegisterTaskDefinition, or a DescribeTaskDefinition output
    /// (<c>{"taskDefinition": {...}}</c>). Read-only fields (<see cref="ReadOnlyFields"/>) are dropped.
    /// </summary>
    /// <exception cref="TaskDefinitionException">The JSON is malformed or a field is invalid; the errors name the fields.</exception>
    public static TaskDefinition Parse(string json)
    {
        var definition = Deserialize(json);
        if (definition.ExtensionData is { } extra)
        {
            foreach (var name in ReadOnlyFields)
            {
                extra.Remove(name);
            }
        }

        var errors = Validate(definition);
        return errors.Count > 0 ? throw new TaskDefinitionException(errors) : definition;
    }

    /// <summary>
    /// Parses a stored document without validating it or dropping anything (for documents this system wrote,
    /// such as the JSON an agent receives in its desired state).
    /// </summary>
    /// <exception cref="TaskDefinitionException">The JSON is malformed.</exception>
    public static TaskDefinition ParseStored(string json) => Deserialize(json);

    /// <summary>Writes a definition as compact ECS JSON, including the fields this model does not know.</summary>
    public static string Serialize(TaskDefinition definition) => JsonSerializer.Serialize(definition, s_options);

    /// <summary>
    /// Writes the document DescribeTaskDefinition returns: the definition plus the fields the registry assigned.
    /// </summary>
    public static string SerializeDescribed(TaskDefinition definition, int revision, string arn, string status, DateTimeOffset registeredAt, DateTimeOffset? deregisteredAt)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var node = JsonSerializer.SerializeToNode(definition, s_options)!.AsObject();
        node["taskDefinitionArn"] = arn;
        node["revision"] = revision;
        node["status"] = status;
        node["registeredAt"] = registeredAt.ToString("O", CultureInfo.InvariantCulture);
        if (deregisteredAt is { } at)
        {
            node["deregisteredAt"] = at.ToString("O", CultureInfo.InvariantCulture);
        }

        var compatibilities = new JsonArray { "EC2" };
        if (definition.NetworkMode == "awsvpc" && definition.Cpu is not null && definition.Memory is not null)
        {
            compatibilities.Add("FARGATE");
        }

        node["compatibilities"] = compatibilities;
        return node.ToJsonString(s_options);
    }

    private static TaskDefinition Deserialize(string json)
    {
        if (string.IsNullOrWhiteSpace(json))
        {
            throw new TaskDefinitionException([new TaskDefinitionError("$", "the document is empty")]);
        }

        try
        {
            using var document = JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new TaskDefinitionException([new TaskDefinitionError("$", "must be a JSON object")]);
            }

            // A DescribeTaskDefinition output wraps the definition; accept it as ECS users often re-register one.
            if (root.TryGetProperty("taskDefinition", out var inner) && inner.ValueKind == JsonValueKind.Object && !root.TryGetProperty("containerDefinitions", out _))
            {
                root = inner;
            }

            return root.Deserialize<TaskDefinition>(s_options) ?? throw new TaskDefinitionException([new TaskDefinitionError("$", "must be a JSON object")]);
        }
        catch (JsonException e)
        {
            throw new TaskDefinitionException([new TaskDefinitionError(FieldOf(e.Path), DescribeJsonError(e))]);
        }
    }

    private static string FieldOf(string? path) =>
        string.IsNullOrEmpty(path) || path == "$" ? "$" : path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path.TrimStart('$');

    private static string DescribeJsonError(JsonException e)
    {
        var message = e.Message;
        if (message.Contains("Int32", StringComparison.Ordinal))
        {
            return "must be an integer";
        }

        if (message.Contains("Boolean", StringComparison.Ordinal))
        {
            return "must be true or false";
        }

        if (message.Contains("List`1", StringComparison.Ordinal))
        {
            return "must be an array";
        }

        if (message.Contains("System.String", StringComparison.Ordinal))
        {
            return "must be a string";
        }

        if (message.Contains("could not be converted", StringComparison.Ordinal))
        {
            return "must be an object";
        }

        // Syntax errors: the reader's own words without its position (it counts lines from 0, and a "Path: ... |
        // LineNumber: ... | BytePositionInLine: ..." tail besides), then one position, counted from 1 as editors do.
        var cut = new[] { message.IndexOf(" Path:", StringComparison.Ordinal), message.IndexOf(" LineNumber:", StringComparison.Ordinal) }
            .Where(i => i > 0).DefaultIfEmpty(message.Length).Min();
        var position = e.LineNumber is { } line ? $" (line {line + 1}, column {(e.BytePositionInLine ?? 0) + 1})" : "";
        return "malformed JSON: " + message[..cut].TrimEnd().TrimEnd('.') + position;
    }

    /// <summary>Validates a definition as ECS RegisterTaskDefinition does; returns every error found.</summary>
    public static IReadOnlyList<TaskDefinitionError> Validate(TaskDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var errors = new List<TaskDefinitionError>();
        void Fail(string field, string message) => errors.Add(new TaskDefinitionError(field, message));

        if (string.IsNullOrEmpty(definition.Family))
        {
            Fail("family", "is required");
        }
        else if (!NameRegex().IsMatch(definition.Family))
        {
            Fail("family", "must be 1-255 letters, digits, hyphens and underscores");
        }

        var networkMode = definition.NetworkMode ?? "bridge";
        if (!s_networkModes.Contains(networkMode))
        {
            Fail("networkMode", "must be bridge, host, awsvpc or none");
        }

        int? taskCpu = null, taskMemory = null;
        if (definition.Cpu is not null)
        {
            if (TaskResources.TryParseCpu(definition.Cpu, out var cpu))
            {
                taskCpu = cpu;
            }
            else
            {
                Fail("cpu", "must be cpu units (\"256\") or vCPUs (\"1 vCPU\"), at least 1 unit");
            }
        }

        if (definition.Memory is not null)
        {
            if (TaskResources.TryParseMemory(definition.Memory, out var memory))
            {
                taskMemory = memory;
            }
            else
            {
                Fail("memory", "must be MiB (\"512\") or GB (\"0.5 GB\"), at least 6 MiB");
            }
        }

        if (definition.RequiresCompatibilities is { } compatibilities)
        {
            for (var i = 0; i < compatibilities.Count; i++)
            {
                if (!s_compatibilities.Contains(compatibilities[i] ?? ""))
                {
                    Fail($"requiresCompatibilities[{i}]", "must be EC2, FARGATE or EXTERNAL");
                }
            }

            if (compatibilities.Contains("FARGATE"))
            {
                if (networkMode != "awsvpc")
                {
                    Fail("networkMode", "must be awsvpc when requiresCompatibilities includes FARGATE");
                }

                if (definition.Cpu is null)
                {
                    Fail("cpu", "is required when requiresCompatibilities includes FARGATE");
                }

                if (definition.Memory is null)
                {
                    Fail("memory", "is required when requiresCompatibilities includes FARGATE");
                }

                // ECS refuses a FARGATE size outside its table at registration (ClientException), not at launch.
                if (taskCpu is { } fargateCpu && taskMemory is { } fargateMemory && !FargateSizes.IsSupported(fargateCpu, fargateMemory))
                {
                    Fail("memory", FargateSizes.Unsupported(fargateCpu, fargateMemory));
                }
            }
        }

        var volumeNames = ValidateVolumes(definition.Volumes, Fail);

        if (definition.PlacementConstraints is { } constraints)
        {
            if (constraints.Count > 10)
            {
                Fail("placementConstraints", "at most 10 constraints");
            }

            for (var i = 0; i < constraints.Count; i++)
            {
                if (constraints[i]?.Type != "memberOf")
                {
                    Fail($"placementConstraints[{i}].type", "must be memberOf");
                }

                if (string.IsNullOrWhiteSpace(constraints[i]?.Expression))
                {
                    Fail($"placementConstraints[{i}].expression", "is required for memberOf");
                }
                else if (constraints[i]!.Expression!.Length > MaxExpressionLength)
                {
                    Fail($"placementConstraints[{i}].expression", $"must be at most {MaxExpressionLength} characters");
                }
                else if (!ClusterQuery.ClusterQuery.TryParse(constraints[i]!.Expression!, out _, out var syntax))
                {
                    // ECS rejects an expression it cannot parse at registration, not when a task is placed.
                    Fail($"placementConstraints[{i}].expression", $"is not a valid cluster query: expected {syntax.Expected} but found {syntax.Found} at position {syntax.Position}");
                }
            }
        }

        var containers = definition.ContainerDefinitions;
        if (containers is null || containers.Count == 0)
        {
            Fail("containerDefinitions", "at least one container is required");
            return errors;
        }

        if (containers.Count > 10)
        {
            Fail("containerDefinitions", "at most 10 containers");
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var c in containers)
        {
            if (c?.Name is { } n)
            {
                names.Add(n);
            }
        }

        var seenNames = new HashSet<string>(StringComparer.Ordinal);
        var staticPorts = new Dictionary<(int Port, string Protocol), string>();
        var anyEssential = false;
        for (var i = 0; i < containers.Count; i++)
        {
            var c = containers[i];
            var at = $"containerDefinitions[{i}]";
            if (c is null)
            {
                Fail(at, "must be an object");
                continue;
            }

            anyEssential |= c.IsEssential;
            if (string.IsNullOrEmpty(c.Name))
            {
                Fail($"{at}.name", "is required");
            }
            else if (!NameRegex().IsMatch(c.Name))
            {
                Fail($"{at}.name", "must be 1-255 letters, digits, hyphens and underscores");
            }
            else if (!seenNames.Add(c.Name))
            {
                Fail($"{at}.name", $"duplicate container name '{c.Name}'");
            }

            if (string.IsNullOrWhiteSpace(c.Image))
            {
                Fail($"{at}.image", "is required");
            }
            else if (c.Image.Length > 255 || c.Image.Any(char.IsWhiteSpace))
            {
                Fail($"{at}.image", "must be an image reference without spaces, at most 255 characters");
            }

            // ECS: in awsvpc mode containers share the task's namespace, so links and a hostname of their own are refused.
            if (networkMode == "awsvpc" && c.ExtensionData is { } extra)
            {
                if (extra.ContainsKey("links"))
                {
                    Fail($"{at}.links", "links are not supported when networkMode is awsvpc");
                }

                if (extra.ContainsKey("hostname"))
                {
                    Fail($"{at}.hostname", "hostname is not supported when networkMode is awsvpc");
                }
            }

            if (c.Cpu is < 0 or > 10 * 1024 * 1024)
            {
                Fail($"{at}.cpu", "must be 0 or more cpu units");
            }

            if (c.Memory is { } hard && hard < 6)
            {
                Fail($"{at}.memory", "must be at least 6 MiB");
            }

            if (c.MemoryReservation is { } soft)
            {
                if (soft < 6)
                {
                    Fail($"{at}.memoryReservation", "must be at least 6 MiB");
                }
                else if (c.Memory is { } limit && soft > limit)
                {
                    Fail($"{at}.memoryReservation", "must not exceed memory");
                }
            }

            if (taskMemory is null && c.Memory is null && c.MemoryReservation is null)
            {
                Fail($"{at}.memory", "memory or memoryReservation is required when the task has no task-level memory");
            }

            if (c.StopTimeout is < 0 or > 120)
            {
                Fail($"{at}.stopTimeout", "must be 0-120 seconds");
            }

            if (c.PortMappings is { } ports)
            {
                for (var p = 0; p < ports.Count; p++)
                {
                    var pm = ports[p];
                    var pat = $"{at}.portMappings[{p}]";
                    if (pm is null)
                    {
                        Fail(pat, "must be an object");
                        continue;
                    }

                    if (pm.ContainerPort is not (>= 1 and <= 65535))
                    {
                        Fail($"{pat}.containerPort", "must be 1-65535");
                    }

                    if (pm.HostPort is < 0 or > 65535)
                    {
                        Fail($"{pat}.hostPort", "must be 0-65535 (0 or absent for a dynamic port)");
                    }

                    if (pm.Protocol is not null && pm.EffectiveProtocol is not ("tcp" or "udp"))
                    {
                        Fail($"{pat}.protocol", "must be tcp or udp");
                    }

                    if (networkMode is "host" or "awsvpc" && pm.HostPort is > 0 && pm.HostPort != pm.ContainerPort)
                    {
                        Fail($"{pat}.hostPort", $"must equal containerPort in {networkMode} network mode");
                    }

                    var hostPort = networkMode is "host" or "awsvpc" ? pm.ContainerPort ?? 0 : pm.HostPort ?? 0;
                    if (hostPort > 0 && !staticPorts.TryAdd((hostPort, pm.EffectiveProtocol), pat))
                    {
                        Fail($"{pat}.hostPort", $"host port {hostPort}/{pm.EffectiveProtocol} is already used by {staticPorts[(hostPort, pm.EffectiveProtocol)]}");
                    }
                }
            }

            if (c.Environment is { } environment)
            {
                for (var e = 0; e < environment.Count; e++)
                {
                    if (string.IsNullOrEmpty(environment[e]?.Name))
                    {
                        Fail($"{at}.environment[{e}].name", "is required");
                    }
                }
            }

            if (c.DependsOn is { } dependencies)
            {
                for (var d = 0; d < dependencies.Count; d++)
                {
                    var dep = dependencies[d];
                    if (dep?.ContainerName is not { } target || !names.Contains(target))
                    {
                        Fail($"{at}.dependsOn[{d}].containerName", "must name another container of the task");
                    }
                    else if (target == c.Name)
                    {
                        Fail($"{at}.dependsOn[{d}].containerName", "a container cannot depend on itself");
                    }

                    if (dep?.Condition is not { } condition || !s_conditions.Contains(condition))
                    {
                        Fail($"{at}.dependsOn[{d}].condition", "must be START, COMPLETE, SUCCESS or HEALTHY");
                    }
                }
            }

            if (c.HealthCheck is { } health)
            {
                var hat = $"{at}.healthCheck";
                if (health.Command is not { Count: > 0 } command || command[0] is not ("CMD" or "CMD-SHELL" or "NONE"))
                {
                    Fail($"{hat}.command", "must start with CMD, CMD-SHELL or NONE");
                }
                else if (command[0] != "NONE" && command.Count < 2)
                {
                    Fail($"{hat}.command", $"{command[0]} needs a command");
                }

                if (health.Interval is < 5 or > 300)
                {
                    Fail($"{hat}.interval", "must be 5-300 seconds");
                }

                if (health.Timeout is < 2 or > 120)
                {
                    Fail($"{hat}.timeout", "must be 2-120 seconds");
                }

                if (health.Retries is < 1 or > 10)
                {
                    Fail($"{hat}.retries", "must be 1-10");
                }

                if (health.StartPeriod is < 0 or > 300)
                {
                    Fail($"{hat}.startPeriod", "must be 0-300 seconds");
                }
            }

            ValidateMountPoints(at, c.MountPoints, volumeNames, Fail);
            ValidateLogConfiguration(at, c.LogConfiguration, Fail);
        }

        ValidateDependencyCycles(containers, Fail);

        if (!anyEssential)
        {
            Fail("containerDefinitions", "at least one container must be essential");
        }

        if (taskCpu is { } tc && containers.Sum(c => (long)(c?.Cpu ?? 0)) > tc)
        {
            Fail("cpu", "is less than the sum of the containers' cpu");
        }

        if (taskMemory is { } tm)
        {
            for (var i = 0; i < containers.Count; i++)
            {
                if (containers[i]?.Memory is { } m && m > tm)
                {
                    Fail($"containerDefinitions[{i}].memory", "must not exceed the task-level memory");
                }
            }
        }

        return errors;
    }

    /// <summary>
    /// A container that waits, through <c>dependsOn</c>, for a container that waits for it could never start: every
    /// cycle is an error on the <c>dependsOn</c> of the first container in it, with the cycle spelled out.
    /// </summary>
    private static void ValidateDependencyCycles(List<ContainerDefinition> containers, Action<string, string> fail)
    {
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < containers.Count; i++)
        {
            if (containers[i]?.Name is { } name)
            {
                index.TryAdd(name, i);
            }
        }

        // 0 = not visited, 1 = on the current path, 2 = done (no cycle through it).
        var state = new int[containers.Count];
        var path = new List<int>();
        var reported = new HashSet<int>();
        for (var start = 0; start < containers.Count; start++)
        {
            Visit(start);
        }

        void Visit(int node)
        {
            if (state[node] == 2)
            {
                return;
            }

            if (state[node] == 1)
            {
                var cycle = path[path.IndexOf(node)..];
                var first = cycle.Min();
                if (reported.Add(first))
                {
                    var from = cycle.IndexOf(first);
                    var names = cycle[from..].Concat(cycle[..from]).Append(first).Select(i => containers[i]!.Name);
                    fail($"containerDefinitions[{first}].dependsOn", $"forms a cycle ({string.Join(" -> ", names)}): none of these containers could ever start");
                }

                return;
            }

            state[node] = 1;
            path.Add(node);
            foreach (var dependency in containers[node]?.DependsOn ?? [])
            {
                // Unknown names and self-references are reported by the field checks above.
                if (dependency?.ContainerName is { } target && index.TryGetValue(target, out var next) && next != node)
                {
                    Visit(next);
                }
            }

            path.RemoveAt(path.Count - 1);
            state[node] = 2;
        }
    }

    /// <summary>ECS's limit on a cluster query expression.</summary>
    private const int MaxExpressionLength = 2000;

    [GeneratedRegex("^[A-Za-z0-9_-]{1,255}$")]
    private static partial Regex NameRegex();
}
