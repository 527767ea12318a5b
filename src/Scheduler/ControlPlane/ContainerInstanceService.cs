using Berth.Scheduler.State;
using Berth.Scheduler.V1;
using Grpc.Core;

namespace Berth.Scheduler.ControlPlane;

/// <summary>The ContainerInstances API.</summary>
internal sealed class ContainerInstanceService(SchedulerState state) : ContainerInstances.ContainerInstancesBase
{
    public override Task<ListContainerInstancesResponse> ListContainerInstances(ListContainerInstancesRequest request, ServerCallContext context)
    {
        var (arns, next) = state.ListInstances(Arns.ClusterName(request.Cluster), request.Status, request.Filter, request.MaxResults, request.NextToken);
        var response = new ListContainerInstancesResponse { NextToken = next };
        response.ContainerInstanceArns.AddRange(arns);
        return Task.FromResult(response);
    }

    public override Task<DescribeContainerInstancesResponse> DescribeContainerInstances(DescribeContainerInstancesRequest request, ServerCallContext context)
    {
        RequireSome(request.ContainerInstances.Count, "container_instances");
        var (found, failures) = state.DescribeInstances(Arns.ClusterName(request.Cluster), request.ContainerInstances);
        var response = new DescribeContainerInstancesResponse();
        response.ContainerInstances.AddRange(found);
        response.Failures.AddRange(failures);
        return Task.FromResult(response);
    }

    public override async Task<DeregisterContainerInstanceResponse> DeregisterContainerInstance(DeregisterContainerInstanceRequest request, ServerCallContext context)
    {
        if (string.IsNullOrEmpty(request.ContainerInstance))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "container_instance is required."));
        }

        return new DeregisterContainerInstanceResponse
        {
            ContainerInstance = await state.DeregisterInstanceAsync(Arns.ClusterName(request.Cluster), request.ContainerInstance, request.Force),
        };
    }

    public override async Task<PutAttributesResponse> PutAttributes(PutAttributesRequest request, ServerCallContext context)
    {
        var response = new PutAttributesResponse();
        response.Attributes.AddRange(await state.PutAttributesAsync(Arns.ClusterName(request.Cluster), request.Attributes, delete: false));
        return response;
    }

    public override async Task<DeleteAttributesResponse> DeleteAttributes(DeleteAttributesRequest request, ServerCallContext context)
    {
        var response = new DeleteAttributesResponse();
        response.Attributes.AddRange(await state.PutAttributesAsync(Arns.ClusterName(request.Cluster), request.Attributes, delete: true));
        return response;
    }

    public override async Task<UpdateContainerInstancesStateResponse> UpdateContainerInstancesState(UpdateContainerInstancesStateRequest request, ServerCallContext context)
    {
        RequireSome(request.ContainerInstances.Count, "container_instances");
        var (updated, failures) = await state.UpdateInstancesStateAsync(Arns.ClusterName(request.Cluster), request.ContainerInstances, request.Status);
        var response = new UpdateContainerInstancesStateResponse();
        response.ContainerInstances.AddRange(updated);
        response.Failures.AddRange(failures);
        return response;
    }

    private static void RequireSome(int count, string field)
    {
        if (count is 0 or > 100)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"{field}: between 1 and 100 entries."));
        }
    }
}
