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
            wire.Hosts.AddRange(g.Hosts.Select(h => ToWire(g, h)));
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
        var found = groups.Read(Arns.ClusterName(request.Cluster), [request.Name], (g, _) => g.Activities.Take(max).Select(a => ToWire(g, a)).ToList());
        if (found.Count == 0)
        {
            throw Asg.NotFound(request.Name);
        }

        var response = new DescribeHostGroupActivitiesResponse();
        response.Activities.AddRange(found[0]);
        return Task.FromResult(response);
    }

    /// <summary>A host of a group as Auto Scaling shows an instance (the FARGATE pool's description uses it too).</summary>
    public static V1.GroupHost ToWire(HostGroupRecord group, HostGroups.GroupHost host) => new()
    {
        Name = host.Name,
        Zone = host.Zone,
        LifecycleState = host.LifecycleState,
        HealthStatus = host.State == GroupHostState.Terminating ? "Unhealthy" : "Healthy",
        ContainerInstanceArn = host.InstanceId is { } id ? Arns.ContainerInstance(group.Cluster, id) : "",
        LaunchTime = Timestamp.FromDateTimeOffset(host.LaunchedAt),
    };

    /// <summary>An activity as Auto Scaling shows it.</summary>
    public static V1.HostGroupActivity ToWire(HostGroupRecord group, HostGroups.HostGroupActivity activity) => new()
    {
        ActivityId = activity.Id,
        HostGroupName = group.Name,
        Description = activity.Description,
        Cause = activity.Cause,
        StartTime = Timestamp.FromDateTimeOffset(activity.StartTime),
        EndTime = WireConvert.ToWire(activity.EndTime),
        StatusCode = activity.Status.ToString(),
        StatusMessage = activity.StatusMessage,
        Progress = activity.Progress,
    };
}
