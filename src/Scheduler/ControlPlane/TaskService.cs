using Berth.Scheduler.Sessions;
using Berth.Scheduler.State;
using Berth.Scheduler.V1;
using Grpc.Core;

namespace Berth.Scheduler.ControlPlane;

/// <summary>The Tasks API.</summary>
internal sealed class TaskService(SchedulerState state, LogRelay logs) : Tasks.TasksBase
{
    public override Task<RunTaskResponse> RunTask(RunTaskRequest request, ServerCallContext context) => state.RunTaskAsync(request);

    public override async Task<StopTaskResponse> StopTask(StopTaskRequest request, ServerCallContext context)
    {
        if (string.IsNullOrEmpty(request.Task))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "task is required."));
        }

        return new StopTaskResponse { Task = await state.StopTaskAsync(request.Cluster, request.Task, request.Reason) };
    }

    public override Task<DescribeTasksResponse> DescribeTasks(DescribeTasksRequest request, ServerCallContext context)
    {
        if (request.Tasks.Count is 0 or > 100)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "tasks: between 1 and 100 entries."));
        }

        var (found, failures) = state.DescribeTasks(request.Cluster, request.Tasks);
        var response = new DescribeTasksResponse();
        response.Tasks.AddRange(found);
        response.Failures.AddRange(failures);
        return Task.FromResult(response);
    }

    public override Task<ListTasksResponse> ListTasks(ListTasksRequest request, ServerCallContext context)
    {
        var (arns, next) = state.ListTasks(request);
        var response = new ListTasksResponse { NextToken = next };
        response.TaskArns.AddRange(arns);
        return Task.FromResult(response);
    }

    public override Task GetTaskLogs(GetTaskLogsRequest request, IServerStreamWriter<TaskLogChunk> responseStream, ServerCallContext context) =>
        logs.StreamAsync(request, responseStream, context.CancellationToken);
}
