using Berth.Scheduler.Kernel;

namespace Berth.Scheduler.Scaling;

/// <summary>
/// Application Auto Scaling's vocabulary: its error names first in the message (as the LoadBalancing edge does with
/// ELB's), resource ids and ARNs.
/// </summary>
internal static class Aas
{
    /// <summary>The only service namespace and dimension this scheduler scales.</summary>
    public const string Namespace = "ecs";

    public const string Dimension = "ecs:service:DesiredCount";

    /// <summary>AAS: at most 50 scaling policies and 200 scheduled actions per scalable target.</summary>
    public const int MaxPolicies = 50;

    public const int MaxScheduledActions = 200;

    public static StateException Validation(string field, string message) => new(StateError.InvalidArgument, $"ValidationException: {field}: {message}");

    public static StateException NotFound(string message) => new(StateError.NotFound, $"ObjectNotFoundException: {message}");

    public static StateException LimitExceeded(string message) => new(StateError.FailedPrecondition, $"LimitExceededException: {message}");

    /// <summary>Checks the namespace and dimension (empty means ecs's) and splits <c>service/&lt;cluster&gt;/&lt;service&gt;</c>.</summary>
    public static (string Cluster, string Service) Resource(string serviceNamespace, string resourceId, string dimension)
    {
        if (serviceNamespace.Length > 0 && serviceNamespace != Namespace)
        {
            throw Validation("service_namespace", $"only '{Namespace}' is supported, not '{Printable(serviceNamespace)}'.");
        }

        if (dimension.Length > 0 && dimension != Dimension)
        {
            throw Validation("scalable_dimension", $"only '{Dimension}' is supported, not '{Printable(dimension)}'.");
        }

        var parts = resourceId.Split('/');
        if (parts.Length != 3 || parts[0] != "service" || parts[1].Length == 0 || parts[2].Length == 0 || resourceId.Length > 1600)
        {
            throw Validation("resource_id", $"'{Printable(resourceId)}' is not service/<cluster>/<service>.");
        }

        return (parts[1], parts[2]);
    }

    public static string ResourceId(string cluster, string service) => $"service/{cluster}/{service}";

    public static string TargetArn(string cluster, string service) => $"arn:berth:application-autoscaling:local:scalable-target/{cluster}/{service}";

    public static string PolicyArn(string cluster, string service, string policy) => $"arn:berth:autoscaling:local:scalingPolicy:{cluster}/{service}:policyName/{policy}";

    public static string ActionArn(string cluster, string service, string action) => $"arn:berth:autoscaling:local:scheduledAction:{cluster}/{service}:scheduledActionName/{action}";

    /// <summary>A policy or scheduled action name: 1-256 printable characters without <c>:</c> or <c>/</c> (AAS's pattern for names in ARNs).</summary>
    public static void CheckName(string field, string name)
    {
        if (name.Length is 0 or > 256 || name.Any(c => char.IsControl(c) || c is ':' or '/'))
        {
            throw Validation(field, "must be 1-256 characters without control characters, ':' or '/'.");
        }
    }

    /// <summary>What a user gave, safe to echo in a message (no control characters, bounded).</summary>
    public static string Printable(string value) =>
        new([.. value.Take(128).Select(c => char.IsControl(c) ? '?' : c)]);
}
