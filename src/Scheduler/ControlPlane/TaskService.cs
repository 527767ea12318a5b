using Berth.Scheduler.Sessions;
using Berth.Scheduler.Tasks;
using Berth.Scheduler.V1;
using Grpc.Core;

namespace Berth.Scheduler.ControlPlane;

/// <summary>The Tasks API.</summary>
internal sealed class TaskService(TaskHandler tasks, LogRelay logs, ExecRelay exec) : V1.Tasks.TasksBase
{
    public override async Task<RunTaskResponse> RunTask(RunTaskRequest request, ServerCallContext context)
    {
        var (created, failures) = await tasks.RunTaskAsync(new RunTaskCommand
        {
            Cluster = request.Cluster,
            TaskDefinition = request.TaskDefinition,
            Count = request.Count,
            Group = request.Group,
            StartedBy = request.StartedBy,
            Overrides = WireConvert.FromWire(request.Overrides),
            PlacementStrategy = WireConvert.FromWire(request.PlacementStrategy),
            PlacementConstraints = WireConvert.FromWire(request.PlacementConstraints),
            LaunchType = request.LaunchType,
            ClientToken = request.ClientToken,
            EnableExecuteCommand = request.EnableExecuteCommand,
            SecurityGroups = WireConvert.FromWire(request.NetworkConfiguration),
            Subnets = WireConvert.SubnetsFromWire(request.NetworkConfiguration),
            CapacityProviderStrategy = [.. request.CapacityProviderStrategy.Select(CapacityProviderService.FromWire)],
        }, WireConvert.ToInfo);
        var response = new RunTaskResponse();
        response.Tasks.AddRange(created);
        response.Failures.AddRange(failures.Select(WireConvert.ToWire));
        return response;
    }

    public override async Task<StopTaskResponse> StopTask(StopTaskRequest request, ServerCallContext context)
    {
        if (string.IsNullOrEmpty(request.Task))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "task is required."));
        }

        return new StopTaskResponse { Task = await tasks.StopTaskAsync(request.Cluster, request.Task, request.Reason, WireConvert.ToInfo) };
    }

    public override Task<DescribeTasksResponse> DescribeTasks(DescribeTasksRequest request, ServerCallContext context)
    {
        if (request.Tasks.Count is 0 or > 100)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "tasks: between 1 and 100 entries."));
        }

        var (found, failures) = tasks.Describe(request.Cluster, request.Tasks, WireConvert.ToInfo);
        var response = new DescribeTasksResponse();
        response.Tasks.AddRange(found);
        response.Failures.AddRange(failures.Select(WireConvert.ToWire));
        return Task.FromResult(response);
    }

    public override Task<ListTasksResponse> ListTasks(ListTasksRequest request, ServerCallContext context)
    {
        var (arns, next) = tasks.List(new ListTasksQuery
        {
            Cluster = request.Cluster,
            Family = request.Family,
            DesiredStatus = WireConvert.FromWire(request.DesiredStatus, "desired_status"),
            ContainerInstance = request.ContainerInstance,
            StartedBy = request.StartedBy,
            ServiceName = request.ServiceName,
            MaxResults = request.MaxResults,
            NextToken = request.NextToken,
        });
        var response = new ListTasksResponse { NextToken = next };
        response.TaskArns.AddRange(arns);
        return Task.FromResult(response);
    }

    public override Task ExecuteCommand(IAsyncStreamReader<ExecClientFrame> requestStream, IServerStreamWriter<ExecServerFrame> responseStream, ServerCallContext context)
    {
        // Who: the control plane has one credential kind (the admin API token, checked by AuthInterceptor), so the
        // record names it and where the call came from.
        var remote = context.GetHttpContext().Connection.RemoteIpAddress;
        var caller = remote is null ? "the API token" : $"the API token from {(remote.IsIPv4MappedToIPv6 ? remote.MapToIPv4() : remote)}";
        return exec.RunAsync(requestStream, responseStream, caller, context.CancellationToken);
    }

    public override Task GetTaskLogs(GetTaskLogsRequest request, IServerStreamWriter<TaskLogChunk> responseStream, ServerCallContext context) =>
        logs.StreamAsync(request, responseStream, context.CancellationToken);
}
