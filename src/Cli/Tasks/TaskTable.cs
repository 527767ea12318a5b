using Berth.Cli.Common;
using Berth.Scheduler.V1;

namespace Berth.Cli.Tasks;

/// <summary>How tasks print: one row each in lists, fields and containers in a describe.</summary>
internal static class TaskTable
{
    public static void Print(CliOutput output, IReadOnlyCollection<TaskInfo> tasks)
    {
        if (output.IsJson)
        {
            output.Json(tasks);
            return;
        }

        output.Table(
            ["TASK", "TASK DEFINITION", "LAST", "DESIRED", "HEALTH", "INSTANCE", "ADDRESS", "PORTS"],
            tasks.Select(t => (IReadOnlyList<string>)
            [
                t.TaskId,
                Display.TaskDefinition(t.TaskDefinitionArn),
                Display.Status(t.LastStatus),
                Display.Status(t.DesiredStatus),
                Display.Health(t.HealthStatus),
                t.ContainerInstanceId.Length > 0 ? t.ContainerInstanceId : "-",
                Address(t),
                Display.Ports(t.Containers.SelectMany(c => c.NetworkBindings)),
            ]));
    }

    /// <summary>An awsvpc task's own address (ECS's ENI attachment), or "-" for tasks on their host's network.</summary>
    private static string Address(TaskInfo task) =>
        task.Attachments.FirstOrDefault(a => a.Type == "ElasticNetworkInterface")?.Details.FirstOrDefault(d => d.Name == "privateIPv4Address")?.Value is { Length: > 0 } address
            ? address
            : "-";

    public static void Describe(CliOutput output, IReadOnlyCollection<TaskInfo> tasks)
    {
        if (output.IsJson)
        {
            output.Json(tasks);
            return;
        }

        var first = true;
        foreach (var task in tasks)
        {
            if (!first)
            {
                output.Out.WriteLine();
            }

            first = false;
            output.Fields(
            [
                ("Task", task.TaskId),
                ("ARN", task.TaskArn),
                ("Cluster", task.Cluster),
                ("Task definition", Display.TaskDefinition(task.TaskDefinitionArn)),
                ("Instance", task.ContainerInstanceId.Length > 0 ? task.ContainerInstanceId : "-"),
                ("Capacity provider", task.CapacityProviderName.Length > 0 ? task.CapacityProviderName : "-"),
                ("Provisioning", task.ProvisioningReason.Length > 0 ? task.ProvisioningReason : "-"),
                ("Address", Address(task)),
                ("Last status", Display.Status(task.LastStatus)),
                ("Desired status", Display.Status(task.DesiredStatus)),
                ("Health", Display.Health(task.HealthStatus)),
                ("Group", task.Group),
                ("Started by", task.StartedBy.Length > 0 ? task.StartedBy : "-"),
                ("Cpu / memory", $"{task.Cpu} / {task.Memory} MiB"),
                ("Created", Display.Time(task.CreatedAt)),
                ("Started", Display.Time(task.StartedAt)),
                ("Stopped", Display.Time(task.StoppedAt)),
                ("Stop code", task.StopCode == StopCode.Unspecified ? "-" : task.StopCode.ToString()),
                ("Stopped reason", task.StoppedReason.Length > 0 ? task.StoppedReason : "-"),
            ]);
            output.Out.WriteLine();
            output.Table(
                ["CONTAINER", "IMAGE", "STATUS", "EXIT", "HEALTH", "PORTS", "REASON"],
                task.Containers.Select(c => (IReadOnlyList<string>)
                [
                    c.Name,
                    c.Image,
                    Display.Status(c.LastStatus),
                    c.HasExitCode ? Display.Num(c.ExitCode) : "-",
                    Display.Health(c.HealthStatus),
                    Display.Ports(c.NetworkBindings),
                    c.Reason.Length > 0 ? c.Reason : "-",
                ]));
        }
    }
}
