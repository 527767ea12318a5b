using Berth.Scheduler.Clusters;
using Berth.Scheduler.V1;
using Grpc.Core;

namespace Berth.Scheduler.ControlPlane;

/// <summary>The Clusters API.</summary>
internal sealed class ClusterService(ClusterHandler clusters) : V1.Clusters.ClustersBase
{
    public override async Task<CreateClusterResponse> CreateCluster(CreateClusterRequest request, ServerCallContext context) =>
        new() { Cluster = ToWire(await clusters.CreateAsync(string.IsNullOrEmpty(request.ClusterName) ? "default" : request.ClusterName, request.TaskCidr)) };

    public override Task<ListClustersResponse> ListClusters(ListClustersRequest request, ServerCallContext context)
    {
        var (arns, next) = clusters.List(request.MaxResults, request.NextToken);
        var response = new ListClustersResponse { NextToken = next };
        response.ClusterArns.AddRange(arns);
        return Task.FromResult(response);
    }

    public override Task<DescribeClustersResponse> DescribeClusters(DescribeClustersRequest request, ServerCallContext context)
    {
        var (found, failures) = clusters.Describe(request.Clusters.Count == 0 ? ["default"] : request.Clusters);
        var response = new DescribeClustersResponse();
        response.Clusters.AddRange(found.Select(ToWire));
        response.Failures.AddRange(failures.Select(WireConvert.ToWire));
        return Task.FromResult(response);
    }

    public override async Task<DeleteClusterResponse> DeleteCluster(DeleteClusterRequest request, ServerCallContext context)
    {
        if (string.IsNullOrEmpty(request.Cluster))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "cluster is required."));
        }

        return new DeleteClusterResponse { Cluster = ToWire(await clusters.DeleteAsync(request.Cluster)) };
    }

    public override Task<DescribeSubnetsResponse> DescribeSubnets(DescribeSubnetsRequest request, ServerCallContext context)
    {
        var response = new DescribeSubnetsResponse();
        response.Subnets.AddRange(clusters.DescribeSubnets(string.IsNullOrEmpty(request.Cluster) ? "default" : request.Cluster, request.SubnetIds, ToWire));
        return Task.FromResult(response);
    }

    private static Subnet ToWire(Networking.SubnetView s) => new()
    {
        SubnetId = s.Id,
        AvailabilityZone = s.Zone,
        CidrBlock = s.CidrBlock,
        Hosts = { s.Hosts.Select(h => new SubnetHost { ContainerInstanceArn = h.Arn, TaskSubnet = h.TaskSubnet ?? "" }) },
    };

    private static Cluster ToWire(ClusterSummary c) => new()
    {
        CapacityProviders = { c.CapacityProviders },
        DefaultCapacityProviderStrategy = { c.DefaultStrategy.Select(CapacityProviderService.ToWire) },
        Name = c.Name,
        Arn = c.Arn,
        Status = c.Status,
        RegisteredContainerInstancesCount = c.RegisteredContainerInstances,
        RunningTasksCount = c.RunningTasks,
        PendingTasksCount = c.PendingTasks,
        ActiveServicesCount = c.ActiveServices,
        CreatedAt = WireConvert.ToWire(c.CreatedAt),
        TaskCidr = c.TaskCidr ?? "",
    };
}
