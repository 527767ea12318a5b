using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Berth.Scheduler.Kernel;
using Berth.Scheduler.Scaling;
using Berth.Scheduler.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Domain = Berth.Scheduler.Scaling;

namespace Berth.Scheduler.ControlPlane;

/// <summary>The ApplicationAutoScaling API (scaling.proto): Application Auto Scaling's calls for ECS services.</summary>
internal sealed class ScalingService(ScalingHandler scaling) : ApplicationAutoScaling.ApplicationAutoScalingBase
{
    public override async Task<RegisterScalableTargetResponse> RegisterScalableTarget(RegisterScalableTargetRequest request, ServerCallContext context)
    {
        var (cluster, service) = Aas.Resource(request.ServiceNamespace, request.ResourceId, request.ScalableDimension);
        var suspended = request.SuspendedState is { } s ? new SuspendedFlags(s.DynamicScalingInSuspended, s.DynamicScalingOutSuspended, s.ScheduledScalingSuspended) : null;
        var arn = await scaling.RegisterAsync(cluster, service, request.HasMinCapacity ? request.MinCapacity : null, request.HasMaxCapacity ? request.MaxCapacity : null, suspended);
        return new RegisterScalableTargetResponse { ScalableTargetArn = arn };
    }

    public override async Task<DeregisterScalableTargetResponse> DeregisterScalableTarget(DeregisterScalableTargetRequest request, ServerCallContext context)
    {
        var (cluster, service) = Aas.Resource(request.ServiceNamespace, request.ResourceId, request.ScalableDimension);
        await scaling.DeregisterAsync(cluster, service);
        return new DeregisterScalableTargetResponse();
    }

    public override Task<DescribeScalableTargetsResponse> DescribeScalableTargets(DescribeScalableTargetsRequest request, ServerCallContext context)
    {
        var (cluster, services) = Scope(request.ServiceNamespace, request.Cluster, request.ResourceIds);
        var response = new DescribeScalableTargetsResponse();
        response.ScalableTargets.AddRange(scaling.Read(cluster, services, (t, desired) => new V1.ScalableTarget
        {
            ServiceNamespace = Aas.Namespace,
            ResourceId = t.ResourceId,
            ScalableDimension = Aas.Dimension,
            MinCapacity = t.Scaling.Target.MinCapacity,
            MaxCapacity = t.Scaling.Target.MaxCapacity,
            SuspendedState = new SuspendedState
            {
                DynamicScalingInSuspended = t.Scaling.Target.DynamicScalingInSuspended,
                DynamicScalingOutSuspended = t.Scaling.Target.DynamicScalingOutSuspended,
                ScheduledScalingSuspended = t.Scaling.Target.ScheduledScalingSuspended,
            },
            CreationTime = Timestamp.FromDateTimeOffset(t.Scaling.CreatedAt),
            ScalableTargetArn = Aas.TargetArn(t.Cluster, t.ServiceName),
            DesiredCount = desired,
        }));
        return Task.FromResult(response);
    }

    public override async Task<PutScalingPolicyResponse> PutScalingPolicy(PutScalingPolicyRequest request, ServerCallContext context)
    {
        var (cluster, service) = Aas.Resource(request.ServiceNamespace, request.ResourceId, request.ScalableDimension);
        var (arn, alarms) = await scaling.PutPolicyAsync(cluster, service, ScalingWire.FromWire(request));
        var response = new PutScalingPolicyResponse { PolicyArn = arn };
        response.Alarms.AddRange(alarms);
        return response;
    }

    public override async Task<DeleteScalingPolicyResponse> DeleteScalingPolicy(DeleteScalingPolicyRequest request, ServerCallContext context)
    {
        var (cluster, service) = Aas.Resource(request.ServiceNamespace, request.ResourceId, request.ScalableDimension);
        await scaling.DeletePolicyAsync(cluster, service, request.PolicyName);
        return new DeleteScalingPolicyResponse();
    }

    public override Task<DescribeScalingPoliciesResponse> DescribeScalingPolicies(DescribeScalingPoliciesRequest request, ServerCallContext context)
    {
        var (cluster, services) = Scope(request.ServiceNamespace, request.Cluster, request.ResourceId.Length > 0 ? [request.ResourceId] : []);
        var names = request.PolicyNames.ToHashSet(StringComparer.Ordinal);
        var response = new DescribeScalingPoliciesResponse();
        foreach (var policies in scaling.Read(cluster, services, (t, _) => t.Scaling.Policies.Values
            .Where(p => names.Count == 0 || names.Contains(p.Name))
            .OrderBy(p => p.Name, StringComparer.Ordinal)
            .Select(p => ScalingWire.ToWire(t.Cluster, t.ServiceName, p))
            .ToList()))
        {
            response.ScalingPolicies.AddRange(policies);
        }

        return Task.FromResult(response);
    }

    public override async Task<PutScheduledActionResponse> PutScheduledAction(PutScheduledActionRequest request, ServerCallContext context)
    {
        var (cluster, service) = Aas.Resource(request.ServiceNamespace, request.ResourceId, request.ScalableDimension);
        ScalingSchedule schedule;
        try
        {
            schedule = ScalingSchedule.Parse(request.Schedule, request.Timezone);
        }
        catch (ArgumentException e)
        {
            throw new StateException(StateError.InvalidArgument, $"ValidationException: {e.Message}");
        }

        var action = new Domain.ScheduledAction(request.ScheduledActionName, schedule, request.HasMinCapacity ? request.MinCapacity : null, request.HasMaxCapacity ? request.MaxCapacity : null)
        {
            StartTime = request.StartTime?.ToDateTimeOffset(),
            EndTime = request.EndTime?.ToDateTimeOffset(),
        };
        await scaling.PutScheduledActionAsync(cluster, service, action);
        return new PutScheduledActionResponse();
    }

    public override async Task<DeleteScheduledActionResponse> DeleteScheduledAction(DeleteScheduledActionRequest request, ServerCallContext context)
    {
        var (cluster, service) = Aas.Resource(request.ServiceNamespace, request.ResourceId, request.ScalableDimension);
        await scaling.DeleteScheduledActionAsync(cluster, service, request.ScheduledActionName);
        return new DeleteScheduledActionResponse();
    }

    public override Task<DescribeScheduledActionsResponse> DescribeScheduledActions(DescribeScheduledActionsRequest request, ServerCallContext context)
    {
        var (cluster, services) = Scope(request.ServiceNamespace, request.Cluster, request.ResourceId.Length > 0 ? [request.ResourceId] : []);
        var names = request.ScheduledActionNames.ToHashSet(StringComparer.Ordinal);
        var response = new DescribeScheduledActionsResponse();
        foreach (var actions in scaling.Read(cluster, services, (t, _) => t.Scaling.ScheduledActions.Values
            .Where(a => names.Count == 0 || names.Contains(a.Name))
            .OrderBy(a => a.Name, StringComparer.Ordinal)
            .Select(a => ScalingWire.ToWire(t, a))
            .ToList()))
        {
            response.ScheduledActions.AddRange(actions);
        }

        return Task.FromResult(response);
    }

    public override Task<DescribeScalingActivitiesResponse> DescribeScalingActivities(DescribeScalingActivitiesRequest request, ServerCallContext context)
    {
        if (request.MaxResults is < 0 or > 50)
        {
            throw Aas.Validation("max_results", "must be 1-50 (0 for 50).");
        }

        var (cluster, services) = Scope(request.ServiceNamespace, request.Cluster, request.ResourceId.Length > 0 ? [request.ResourceId] : []);
        var all = scaling.Read(cluster, services, (t, _) => t.Scaling.Activities.Select(a => (t.Cluster, t.ServiceName, Activity: a)).ToList())
            .SelectMany(a => a)
            .OrderByDescending(a => a.Activity.Time)
            .Take(request.MaxResults == 0 ? 50 : request.MaxResults);
        var response = new DescribeScalingActivitiesResponse();
        response.ScalingActivities.AddRange(all.Select(a => new V1.ScalingActivity
        {
            ActivityId = ActivityId(a.Cluster, a.ServiceName, a.Activity),
            ServiceNamespace = Aas.Namespace,
            ResourceId = Aas.ResourceId(a.Cluster, a.ServiceName),
            ScalableDimension = Aas.Dimension,
            Description = a.Activity.Description,
            Cause = a.Activity.Cause,
            StartTime = Timestamp.FromDateTimeOffset(a.Activity.Time),
            EndTime = Timestamp.FromDateTimeOffset(a.Activity.Time),
            StatusCode = "Successful",
            StatusMessage = "Successfully set desired count to " + a.Activity.To.ToString(CultureInfo.InvariantCulture) + ". Change successfully fulfilled by ecs.",
            FromCount = a.Activity.From,
            ToCount = a.Activity.To,
        }));
        return Task.FromResult(response);
    }

    /// <summary>The cluster and services a Describe call covers: the resource ids' (one cluster), else the cluster's every target.</summary>
    private static (string Cluster, HashSet<string> Services) Scope(string serviceNamespace, string cluster, IReadOnlyCollection<string> resourceIds)
    {
        var services = new HashSet<string>(StringComparer.Ordinal);
        string? of = null;
        foreach (var id in resourceIds)
        {
            var (c, s) = Aas.Resource(serviceNamespace, id, "");
            if (of is not null && of != c)
            {
                throw Aas.Validation("resource_ids", "must all be of one cluster.");
            }

            of = c;
            services.Add(s);
        }

        if (serviceNamespace.Length > 0 && serviceNamespace != Aas.Namespace)
        {
            throw Aas.Validation("service_namespace", $"only '{Aas.Namespace}' is supported.");
        }

        return (of ?? Arns.ClusterName(cluster), services);
    }

    // Activities have no id of their own in the record: a stable one from what identifies them (a UUID's shape, as AAS's).
    private static string ActivityId(string cluster, string service, Domain.ScalingActivity activity)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{cluster}/{service}/{activity.Time.UtcTicks}/{activity.From}/{activity.To}/{activity.Cause}"));
        return new Guid(hash.AsSpan(0, 16)).ToString();
    }
}
