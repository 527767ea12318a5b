using Berth.Scheduler.HostGroups;
using Berth.Scheduler.Kernel;
using Berth.Scheduler.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace Berth.Scheduler.ControlPlane;

/// <summary>The HostGroups API (host_groups.proto): Auto Scaling's group calls, on the scheduler's host groups.</summary>
internal sealed class HostGroupService(HostGroupHandler groups, HostGroupProvisioner provisioner) : V1.HostGroups.HostGroupsBase
{
    public override async Task<CreateHostGroupResponse> CreateHostGroup(CreateHostGroupRequest request, ServerCallContext context)
    {
        var spec = new HostGroupSpec(
            request.InstanceType,
            [.. request.Zones],
            new SortedDictionary<string, string>(request.Attributes, StringComparer.Ordinal),
            request.HasHealthCheckGracePeriod ? TimeSpan.FromSeconds(request.HealthCheckGracePeriod) : HostGroupSpec.DefaultGracePeriod);
        var arn = await groups.CreateAsync(Arns.ClusterName(request.Cluster), request.Name, request.MinSize, request.MaxSize,
            request.HasDesiredCapacity ? request.DesiredCapacity : null, spec);
        return new CreateHostGroupResponse { HostGroupArn = arn };
    }

    public override async Task<UpdateHostGroupResponse> UpdateHostGroup(UpdateHostGroupRequest request, ServerCallContext context)
    {
        await groups.UpdateAsync(Arns.ClusterName(request.Cluster), request.Name,
            request.HasMinSize ? request.MinSize : null,
            request.HasMaxSize ? request.MaxSize : null,
            request.HasDesiredCapacity ? request.DesiredCapacity : null,
            request.HasHealthCheckGracePeriod ? TimeSpan.FromSeconds(request.HealthCheckGracePeriod) : null);
        return new UpdateHostGroupResponse();
    }

    public override Task<DescribeHostGroupsResponse> DescribeHostGroups(DescribeHostGroupsRequest request, ServerCallContext context)
    {
        var kind = provisioner.Provisioning?.Provisioner.Kind ?? "";
        var response = new DescribeHostGroupsResponse();
        response.HostGroups.AddRange(groups.Read(Arns.ClusterName(request.Cluster), [.. request.Names], (g, state) =>
        {
            var wire = new HostGroup
            {
                Name = g.Name,
                HostGroupArn = g.Arn,
                Cluster = g.Cluster,
                MinSize = g.Size.Min,
                MaxSize = g.Size.Max,
                DesiredCapacity = g.Size.Desired,
                InstanceType = g.Spec.InstanceType,
                Zones = { g.Spec.Zones },
                Attributes = { g.Spec.Attributes.ToDictionary(a => a.Key, a => a.Value, StringComparer.Ordinal) },
                HealthCheckGracePeriod = (int)g.Spec.HealthCheckGracePeriod.TotalSeconds,
                CreatedTime = Timestamp.FromDateTimeOffset(g.CreatedAt),
                Status = g.Deleting ? "Delete in progress" : "",
                Provisioner = kind,
            };
            wire.Hosts.AddRange(g.Hosts.Select(h => new V1.GroupHost
            {
                Name = h.Name,
                Zone = h.Zone,
                LifecycleState = h.LifecycleState,
                HealthStatus = h.State == GroupHostState.Terminating ? "Unhealthy" : "Healthy",
                ContainerInstanceArn = h.InstanceId is { } id ? Arns.ContainerInstance(g.Cluster, id) : "",
                LaunchTime = Timestamp.FromDateTimeOffset(h.LaunchedAt),
            }));
            return wire;
        }));
        return Task.FromResult(response);
    }

    public override async Task<DeleteHostGroupResponse> DeleteHostGroup(DeleteHostGroupRequest request, ServerCallContext context)
    {
        await groups.DeleteAsync(Arns.ClusterName(request.Cluster), request.Name, request.ForceDelete);
        return new DeleteHostGroupResponse();
    }

    public override Task<DescribeHostGroupActivitiesResponse> DescribeHostGroupActivities(DescribeHostGroupActivitiesRequest request, ServerCallContext context)
    {
        if (request.MaxRecords < 0)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "ValidationError: MaxRecords must not be negative."));
        }

        var max = request.MaxRecords == 0 ? HostGroups.HostGroupActivity.Kept : request.MaxRecords;
        var found = groups.Read(Arns.ClusterName(request.Cluster), [request.Name], (g, _) => g.Activities.Take(max).Select(a => new V1.HostGroupActivity
        {
            ActivityId = a.Id,
            HostGroupName = g.Name,
            Description = a.Description,
            Cause = a.Cause,
            StartTime = Timestamp.FromDateTimeOffset(a.StartTime),
            EndTime = WireConvert.ToWire(a.EndTime),
            StatusCode = a.Status.ToString(),
            StatusMessage = a.StatusMessage,
            Progress = a.Progress,
        }).ToList());
        if (found.Count == 0)
        {
            throw Asg.NotFound(request.Name);
        }

        var response = new DescribeHostGroupActivitiesResponse();
        response.Activities.AddRange(found[0]);
        return Task.FromResult(response);
    }
}
