using Berth.Scheduler.State;
using Berth.Scheduler.V1;
using Grpc.Core;

namespace Berth.Scheduler.ControlPlane;

/// <summary>The Clusters API.</summary>
internal sealed class ClusterService(SchedulerState state) : Clusters.ClustersBase
{
    public override async Task<CreateClusterResponse> CreateCluster(CreateClusterRequest request, ServerCallContext context) =>
        new() { Cluster = await state.CreateClusterAsync(string.IsNullOrEmpty(request.ClusterName) ? "default" : request.ClusterName) };

    public override Task<ListClustersResponse> ListClusters(ListClustersRequest request, ServerCallContext context)
    {
        var (arns, next) = state.ListClusters(request.MaxResults, request.NextToken);
        var response = new ListClustersResponse { NextToken = next };
        response.ClusterArns.AddRange(arns);
        return Task.FromResult(response);
    }

    public override Task<DescribeClustersResponse> DescribeClusters(DescribeClustersRequest request, ServerCallContext context)
    {
        var (found, failures) = state.DescribeClusters(request.Clusters.Count == 0 ? ["default"] : request.Clusters);
        var response = new DescribeClustersResponse();
        response.Clusters.AddRange(found);
        response.Failures.AddRange(failures);
        return Task.FromResult(response);
    }

    public override async Task<DeleteClusterResponse> DeleteCluster(DeleteClusterRequest request, ServerCallContext context)
    {
        if (string.IsNullOrEmpty(request.Cluster))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "cluster is required."));
        }

        return new DeleteClusterResponse { Cluster = await state.DeleteClusterAsync(request.Cluster) };
    }
}
