namespace Berth.Scheduler.Kernel;

/// <summary>ARN spellings, ECS's shape with partition <c>berth</c> and region <c>local</c>.</summary>
internal static class Arns
{
    private const string Prefix = "arn:berth:ecs:local:";

    public static string Cluster(string name) => $"{Prefix}cluster/{name}";

    public static string TaskDefinition(string family, int revision) => $"{Prefix}task-definition/{family}:{revision}";

    public static string ContainerInstance(string cluster, string id) => $"{Prefix}container-instance/{cluster}/{id}";

    public static string Task(string cluster, string id) => $"{Prefix}task/{cluster}/{id}";

    public static string Service(string cluster, string name) => $"{Prefix}service/{cluster}/{name}";

    /// <summary>The last path segment of an ARN, or the input when it is not an ARN (ids and names pass through).</summary>
    public static string Id(string reference)
    {
        if (!reference.StartsWith("arn:", StringComparison.Ordinal))
        {
            return reference;
        }

        var slash = reference.LastIndexOf('/');
        return slash >= 0 ? reference[(slash + 1)..] : reference;
    }

    /// <summary>A cluster name from a name or a cluster ARN; <c>default</c> when empty.</summary>
    public static string ClusterName(string? reference) => string.IsNullOrEmpty(reference) ? "default" : Id(reference);
}
