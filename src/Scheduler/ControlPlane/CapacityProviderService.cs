using Berth.Scheduler.CapacityProviders;
using Berth.Scheduler.HostGroups;
using Berth.Scheduler.Kernel;
using Berth.Scheduler.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using FargatePool = Berth.Scheduler.Fargate.FargatePool;
using ManagedScaling = Berth.Scheduler.Kernel.ManagedScaling;

namespace Berth.Scheduler.ControlPlane;

/// <summary>The CapacityProviders API (capacity_providers.proto): ECS's capacity provider calls on the scheduler's records.</summary>
internal sealed class CapacityProviderService(CapacityProviderHandler providers, FargatePool pool) : V1.CapacityProviders.CapacityProvidersBase
{
    public override async Task<CreateCapacityProviderResponse> CreateCapacityProvider(CreateCapacityProviderRequest request, ServerCallContext context)
    {
        var wire = request.AutoScalingGroupProvider ?? throw Ecs.InvalidParameter("autoScalingGroupProvider is required.");
        var scaling = ScalingFrom(wire.ManagedScaling, ManagedScaling.Default);
        var protection = Ecs.Switch(wire.ManagedTerminationProtection, false, "managedTerminationProtection");
        var draining = Ecs.Switch(wire.ManagedDraining, true, "managedDraining");
        var provider = await providers.CreateAsync(Arns.ClusterName(request.Cluster), request.Name, wire.AutoScalingGroupArn, scaling, protection, draining, ToWire);
        return new CreateCapacityProviderResponse { CapacityProvider = provider };
    }

    public override Task<DescribeCapacityProvidersResponse> DescribeCapacityProviders(DescribeCapacityProvidersRequest request, ServerCallContext context)
    {
        var (found, missing) = providers.Read(Arns.ClusterName(request.Cluster), [.. request.CapacityProviders], ToWire);
        var response = new DescribeCapacityProvidersResponse();
        response.CapacityProviders.AddRange(found);
        response.Failures.AddRange(missing.Select(m => new CapacityProviderFailure { Arn = m, Reason = "MISSING" }));
        return Task.FromResult(response);
    }

    public override async Task<UpdateCapacityProviderResponse> UpdateCapacityProvider(UpdateCapacityProviderRequest request, ServerCallContext context)
    {
        var wire = request.AutoScalingGroupProvider ?? throw Ecs.InvalidParameter("autoScalingGroupProvider is required.");
        var provider = await providers.UpdateAsync(Arns.ClusterName(request.Cluster), request.Name, wire.AutoScalingGroupArn, current => (
            ScalingFrom(wire.ManagedScaling, current.Scaling),
            Ecs.Switch(wire.ManagedTerminationProtection, current.TerminationProtection, "managedTerminationProtection"),
            Ecs.Switch(wire.ManagedDraining, current.Draining, "managedDraining")), ToWire);
        return new UpdateCapacityProviderResponse { CapacityProvider = provider };
    }

    public override async Task<DeleteCapacityProviderResponse> DeleteCapacityProvider(DeleteCapacityProviderRequest request, ServerCallContext context)
    {
        var wire = await providers.DeleteAsync(Arns.ClusterName(request.Cluster), request.CapacityProvider, ToWire);
        wire.Status = Statuses.Inactive;
        wire.UpdateStatus = "DELETE_COMPLETE";
        return new DeleteCapacityProviderResponse { CapacityProvider = wire };
    }

    public override async Task<PutClusterCapacityProvidersResponse> PutClusterCapacityProviders(PutClusterCapacityProvidersRequest request, ServerCallContext context)
    {
        var strategy = request.DefaultCapacityProviderStrategy.Select(FromWire).ToList();
        var cluster = Arns.ClusterName(request.Cluster);
        var (names, items) = await providers.PutClusterAsync(cluster, [.. request.CapacityProviders], strategy);
        return new PutClusterCapacityProvidersResponse
        {
            Cluster = cluster,
            CapacityProviders = { names },
            DefaultCapacityProviderStrategy = { items.Select(ToWire) },
        };
    }

    public static CapacityProviderStrategyItem ToWire(StrategyItem item) => new() { CapacityProvider = item.Provider, Base = item.Base, Weight = item.Weight };

    public static StrategyItem FromWire(CapacityProviderStrategyItem item) => new(Arns.Id(item.CapacityProvider), item.Base, item.Weight);

    private static ManagedScaling ScalingFrom(V1.ManagedScaling? wire, ManagedScaling current) => wire is null ? current : new ManagedScaling(
        Ecs.Switch(wire.Status, wire.Status.Length == 0 || current.Enabled, "managedScaling.status"),
        wire.HasTargetCapacity ? wire.TargetCapacity : current.TargetCapacity,
        wire.HasMinimumScalingStepSize ? wire.MinimumScalingStepSize : current.MinimumStep,
        wire.HasMaximumScalingStepSize ? wire.MaximumScalingStepSize : current.MaximumStep,
        wire.HasInstanceWarmupPeriod ? TimeSpan.FromSeconds(wire.InstanceWarmupPeriod) : current.InstanceWarmup);

    private V1.CapacityProvider ToWire(CapacityProviderRecord p, ClusterState state)
    {
        var group = state.HostGroups.GetValueOrDefault(p.HostGroup);
        var wire = group is not null && FargatePool.IsPoolGroup(group) ? ToWirePool(p, group) : ToWireSettings(p, state);
        if (p.LastReservation is { } reservation)
        {
            wire.CapacityProviderReservation = reservation;
        }

        wire.ProvisioningTasks = state.Provisioning.Count(t => StrategyPlacement.RecordOf(state, t.CapacityProviderName) == p);
        return wire;
    }

    /// <summary>
    /// The FARGATE provider as ECS shows it (no Auto Scaling group), with the pool Berth keeps behind it: its hosts, its
    /// newest activities and the last failure with the provisioner's words.
    /// </summary>
    private V1.CapacityProvider ToWirePool(CapacityProviderRecord p, HostGroupRecord group)
    {
        var wire = new V1.CapacityProvider
        {
            CapacityProviderArn = p.Arn,
            Name = p.Name,
            Status = Statuses.Active,
            Cluster = p.Cluster,
            CreatedAt = Timestamp.FromDateTimeOffset(p.CreatedAt),
            FargatePool = new V1.FargatePool
            {
                DesiredCapacity = group.Size.Desired,
                MaxSize = group.Size.Max,
                IdleTimeoutSeconds = (int)pool.Options.IdleTimeout.TotalSeconds,
                Hosts = { group.Hosts.Select(h => HostGroupService.ToWire(group, h)) },
                Activities = { group.Activities.Take(10).Select(a => HostGroupService.ToWire(group, a)) },
            },
        };
        if (group.Activities.FirstOrDefault(a => a.Status == ActivityStatus.Failed) is { } failed)
        {
            wire.FargatePool.LastFailure = HostGroupService.ToWire(group, failed);
        }

        return wire;
    }

    private static V1.CapacityProvider ToWireSettings(CapacityProviderRecord p, ClusterState state) => new()
    {
        CapacityProviderArn = p.Arn,
        Name = p.Name,
        Status = Statuses.Active,
        Cluster = p.Cluster,
        UpdateStatus = p.UpdateStatus,
        CreatedAt = Timestamp.FromDateTimeOffset(p.CreatedAt),
        AutoScalingGroupProvider = new AutoScalingGroupProvider
        {
            AutoScalingGroupArn = state.HostGroups.TryGetValue(p.HostGroup, out var group) ? group.Arn : "",
            ManagedTerminationProtection = Ecs.Spell(p.TerminationProtection),
            ManagedDraining = Ecs.Spell(p.Draining),
            ManagedScaling = new V1.ManagedScaling
            {
                Status = Ecs.Spell(p.Scaling.Enabled),
                TargetCapacity = p.Scaling.TargetCapacity,
                MinimumScalingStepSize = p.Scaling.MinimumStep,
                MaximumScalingStepSize = p.Scaling.MaximumStep,
                InstanceWarmupPeriod = (int)p.Scaling.InstanceWarmup.TotalSeconds,
            },
        },
    };
}
