using Berth.Cli.Common;
using Berth.Scheduler.V1;

namespace Berth.Cli.Tasks;

/// <summary><c>task run --wait</c>: polls the tasks until all run, one stops, or the timeout passes.</summary>
internal static class TaskWaiter
{
    public static async Task<(List<TaskInfo> Tasks, bool AllRunning)> UntilRunningAsync(CliContext context, List<TaskInfo> tasks, TimeSpan timeout, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + timeout;
        var last = string.Empty;
        while (true)
        {
            var reply = await context.Scheduler.Tasks.DescribeTasksAsync(
                new DescribeTasksRequest { Cluster = tasks[0].Cluster, Tasks = { tasks.Select(t => t.TaskId) } }, cancellationToken: ct);
            tasks = [.. reply.Tasks];
            var running = tasks.Count(t => t.LastStatus == LifecycleStatus.Running);
            var stopped = tasks.Where(t => t.LastStatus == LifecycleStatus.Stopped).ToList();
            var line = $"{running}/{tasks.Count} running" + (stopped.Count > 0 ? $", {stopped.Count} stopped" : string.Empty);
            if (line != last)
            {
                context.Output.Error.WriteLine(line);
                last = line;
            }

            if (stopped.Count > 0)
            {
                foreach (var task in stopped)
                {
                    context.Output.Error.WriteLine($"task {task.TaskId} stopped: {task.StopCode}: {task.StoppedReason}");
                }

                return (tasks, false);
            }

            if (running == tasks.Count)
            {
                return (tasks, true);
            }

            if (DateTime.UtcNow > deadline)
            {
                context.Output.Error.WriteLine($"gave up waiting after {timeout.TotalSeconds:0} s");
                return (tasks, false);
            }

            await Task.Delay(TimeSpan.FromMilliseconds(500), ct);
        }
    }
}
