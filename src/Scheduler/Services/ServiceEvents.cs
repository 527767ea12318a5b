using Berth.Scheduler.Kernel;
using Berth.Scheduler.Placement;

namespace Berth.Scheduler.Services;

/// <summary>Service event messages worded as ECS words them, so that what users search for in the ECS docs matches.</summary>
internal static class ServiceEvents
{
    private const string Troubleshooting = " For more information, see the Troubleshooting section of docs/services.md.";

    /// <summary>ECS: <c>(task 1234) (task 5678)</c>.</summary>
    public static string TaskList(IEnumerable<TaskRecord> tasks) => string.Join(" ", tasks.Select(t => $"(task {t.Id})"));

    /// <summary>The "unable to place a task" event for the closest instance's failed check.</summary>
    public static string UnableToPlace(string service, PlacementFailure failure, string cluster)
    {
        var prefix = $"(service {service}) was unable to place a task because no container instance met all of its requirements.";
        if (failure.Reason == CapacityProviders.StrategyPlacement.CapacityFailure)
        {
            return $"(service {service}) was unable to place a task. Reason: {failure.Detail}";
        }

        if (failure.InstanceId is null)
        {
            return $"{prefix} Reason: No Container Instances were found in your cluster '{cluster}'.{Troubleshooting}";
        }

        var closest = $"The closest matching (container-instance {failure.InstanceId})";
        var why = failure.Reason switch
        {
            PlacementFailureReasons.Memory => $"{closest} has insufficient memory available.",
            PlacementFailureReasons.Cpu => $"{closest} has insufficient CPU units available.",
            PlacementFailureReasons.Ports => $"{closest} is already using a port required by your task.",
            PlacementFailureReasons.Attribute => $"{closest} is missing an attribute required by your task.",
            PlacementFailureReasons.Agent => $"{closest} encountered error \"AGENT\": its agent is not connected.",
            _ => $"{closest} failed on {failure.Reason}.",
        };
        return $"{prefix} {why}{Troubleshooting}";
    }
}
