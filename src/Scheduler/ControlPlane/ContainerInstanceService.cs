using Berth.Scheduler.Instances;
using Berth.Scheduler.Kernel;
using Berth.Scheduler.Placement;
using Berth.Scheduler.V1;
using Grpc.Core;

namespace Berth.Scheduler.ControlPlane;

/// <summary>The ContainerInstances API.</summary>
internal sealed class ContainerInstanceService(InstanceHandler instances) : ContainerInstances.ContainerInstancesBase
{
    public override Task<ListContainerInstancesResponse> ListContainerInstances(ListContainerInstancesRequest request, ServerCallContext context)
    {
        var (arns, next) = instances.List(Arns.ClusterName(request.Cluster), request.Status, request.Filter, request.MaxResults, request.NextToken, request.IncludeFargate);
        var response = new ListContainerInstancesResponse { NextToken = next };
        response.ContainerInstanceArns.AddRange(arns);
        return Task.FromResult(response);
    }

    public override Task<DescribeContainerInstancesResponse> DescribeContainerInstances(DescribeContainerInstancesRequest request, ServerCallContext context)
    {
        RequireSome(request.ContainerInstances.Count, "container_instances");
        var (found, failures) = instances.Describe(Arns.ClusterName(request.Cluster), request.ContainerInstances, ToWire);
        var response = new DescribeContainerInstancesResponse();
        response.ContainerInstances.AddRange(found);
        response.Failures.AddRange(failures.Select(WireConvert.ToWire));
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
            ContainerInstance = await instances.DeregisterAsync(Arns.ClusterName(request.Cluster), request.ContainerInstance, request.Force, ToWire),
        };
    }

    public override async Task<PutAttributesResponse> PutAttributes(PutAttributesRequest request, ServerCallContext context)
    {
        var response = new PutAttributesResponse();
        response.Attributes.AddRange(await ChangeAttributesAsync(request.Cluster, request.Attributes, delete: false));
        return response;
    }

    public override async Task<DeleteAttributesResponse> DeleteAttributes(DeleteAttributesRequest request, ServerCallContext context)
    {
        var response = new DeleteAttributesResponse();
        response.Attributes.AddRange(await ChangeAttributesAsync(request.Cluster, request.Attributes, delete: true));
        return response;
    }

    public override async Task<UpdateContainerInstancesStateResponse> UpdateContainerInstancesState(UpdateContainerInstancesStateRequest request, ServerCallContext context)
    {
        RequireSome(request.ContainerInstances.Count, "container_instances");
        var status = request.Status switch
        {
            ContainerInstanceStatus.Active => InstanceStatus.Active,
            ContainerInstanceStatus.Draining => InstanceStatus.Draining,
            _ => throw new RpcException(new Status(StatusCode.InvalidArgument, "status must be ACTIVE or DRAINING.")),
        };
        var (updated, failures) = await instances.UpdateStateAsync(Arns.ClusterName(request.Cluster), request.ContainerInstances, status, ToWire);
        var response = new UpdateContainerInstancesStateResponse();
        response.ContainerInstances.AddRange(updated);
        response.Failures.AddRange(failures.Select(WireConvert.ToWire));
        return response;
    }

    private async Task<IEnumerable<TargetedAttribute>> ChangeAttributesAsync(string cluster, IEnumerable<TargetedAttribute> attributes, bool delete)
    {
        var changed = await instances.PutAttributesAsync(Arns.ClusterName(cluster), [.. attributes.Select(a => (a.Name, a.Value, a.TargetId))], delete);
        return changed.Select(a => new TargetedAttribute { Name = a.Name, Value = a.Value, TargetId = a.TargetId });
    }

    /// <summary>An instance as the API shows it; runs under its cluster's lock.</summary>
    internal static ContainerInstance ToWire(InstanceSummary summary)
    {
        var i = summary.Instance;
        var registered = new InstanceResources { Cpu = i.Facts.Cpu, Memory = i.Facts.Memory };
        registered.Ports.AddRange(i.Facts.ReservedPorts);
        registered.PortsUdp.AddRange(i.Facts.ReservedPortsUdp);
        var remaining = new InstanceResources { Cpu = summary.RemainingCpu, Memory = summary.RemainingMemory };
        foreach (var port in summary.UsedPorts)
        {
            (port.Protocol == TransportProtocol.Udp ? remaining.PortsUdp : remaining.Ports).Add(port.Port);
        }

        var proto = new ContainerInstance
        {
            ContainerInstanceId = i.Id,
            ContainerInstanceArn = i.Arn,
            Cluster = i.Cluster,
            Status = WireConvert.ToWire(i.Status),
            AgentConnected = i.AgentConnected,
            AgentVersion = i.Facts.AgentVersion,
            RegisteredResources = registered,
            RemainingResources = remaining,
            RunningTasksCount = summary.RunningTasks,
            PendingTasksCount = summary.PendingTasks,
            RegisteredAt = WireConvert.ToWire(i.RegisteredAt),
            Hostname = i.Facts.Hostname,
            LastSeenAt = WireConvert.ToWire(i.LastSeenAt),
            DesiredVersion = i.DesiredVersion,
            AcknowledgedVersion = i.AcknowledgedVersion,
        };
        proto.Attributes.AddRange(summary.Attributes.Select(a => new InstanceAttribute { Name = a.Key, Value = a.Value }));
        return proto;
    }

    private static void RequireSome(int count, string field)
    {
        if (count is 0 or > 100)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"{field}: between 1 and 100 entries."));
        }
    }
}
