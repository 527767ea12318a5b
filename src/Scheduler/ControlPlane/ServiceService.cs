using Berth.Scheduler.Kernel;
using Berth.Scheduler.Services;
using Berth.Scheduler.V1;
using Grpc.Core;
using ReconnectPolicy = Berth.Scheduler.V1.ReconnectPolicy;
using SchedulingStrategy = Berth.Scheduler.V1.SchedulingStrategy;

namespace Berth.Scheduler.ControlPlane;

/// <summary>The Services API (ECS CreateService, UpdateService, DeleteService, DescribeServices, ListServices).</summary>
internal sealed class ServiceService(ServiceHandler services) : V1.Services.ServicesBase
{
    public override async Task<CreateServiceResponse> CreateService(CreateServiceRequest request, ServerCallContext context) =>
        new()
        {
            Service = await services.CreateAsync(new CreateServiceCommand
            {
                Cluster = request.Cluster,
                ServiceName = request.ServiceName,
                TaskDefinition = request.TaskDefinition,
                DesiredCount = request.DesiredCount,
                SchedulingStrategy = request.SchedulingStrategy switch
                {
                    SchedulingStrategy.Unspecified or SchedulingStrategy.Replica => Kernel.SchedulingStrategy.Replica,
                    SchedulingStrategy.Daemon => Kernel.SchedulingStrategy.Daemon,
                    _ => throw StateException.Invalid("scheduling_strategy must be REPLICA or DAEMON."),
                },
                DeploymentConfiguration = FromWire(request.DeploymentConfiguration),
                PlacementStrategy = WireConvert.FromWire(request.PlacementStrategy),
                PlacementConstraints = WireConvert.FromWire(request.PlacementConstraints),
                HealthCheckGracePeriodSeconds = request.HealthCheckGracePeriodSeconds,
                LaunchType = request.LaunchType,
                ClientToken = request.ClientToken,
                ReconnectPolicy = FromWire(request.ReconnectPolicy),
                EnableExecuteCommand = request.EnableExecuteCommand,
                LoadBalancers = FromWire(request.LoadBalancers),
                SecurityGroups = WireConvert.FromWire(request.NetworkConfiguration),
                Subnets = WireConvert.SubnetsFromWire(request.NetworkConfiguration),
                CapacityProviderStrategy = [.. request.CapacityProviderStrategy.Select(CapacityProviderService.FromWire)],
            }, ToWire),
        };

    private static System.Collections.Immutable.ImmutableArray<LoadBalancerLink> FromWire(IEnumerable<V1.ServiceLoadBalancer> links) =>
        [.. links.Select(l => new LoadBalancerLink(string.IsNullOrEmpty(l.TargetGroupArn) ? l.TargetGroupName : l.TargetGroupArn, l.ContainerName, l.ContainerPort))];

    public override async Task<UpdateServiceResponse> UpdateService(UpdateServiceRequest request, ServerCallContext context)
    {
        if (string.IsNullOrEmpty(request.Service))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "service is required."));
        }

        return new UpdateServiceResponse
        {
            Service = await services.UpdateAsync(new UpdateServiceCommand
            {
                Cluster = request.Cluster,
                Service = request.Service,
                TaskDefinition = request.TaskDefinition,
                DesiredCount = request.HasDesiredCount ? request.DesiredCount : null,
                DeploymentConfiguration = FromWire(request.DeploymentConfiguration),
                PlacementStrategy = request.PlacementStrategySet ? WireConvert.FromWire(request.PlacementStrategy) : null,
                PlacementConstraints = request.PlacementConstraintsSet ? WireConvert.FromWire(request.PlacementConstraints) : null,
                ForceNewDeployment = request.ForceNewDeployment,
                HealthCheckGracePeriodSeconds = request.HasHealthCheckGracePeriodSeconds ? request.HealthCheckGracePeriodSeconds : null,
                ReconnectPolicy = FromWire(request.ReconnectPolicy),
                EnableExecuteCommand = request.HasEnableExecuteCommand ? request.EnableExecuteCommand : null,
                LoadBalancers = request.LoadBalancersSet || request.LoadBalancers.Count > 0 ? FromWire(request.LoadBalancers) : null,
                SecurityGroups = request.NetworkConfiguration is null ? null : WireConvert.FromWire(request.NetworkConfiguration),
                Subnets = request.NetworkConfiguration is null ? null : WireConvert.SubnetsFromWire(request.NetworkConfiguration),
                CapacityProviderStrategy = request.CapacityProviderStrategySet || request.CapacityProviderStrategy.Count > 0
                    ? [.. request.CapacityProviderStrategy.Select(CapacityProviderService.FromWire)]
                    : null,
            }, ToWire),
        };
    }

    public override async Task<DeleteServiceResponse> DeleteService(DeleteServiceRequest request, ServerCallContext context) =>
        new() { Service = await services.DeleteAsync(request.Cluster, request.Service, request.Force, ToWire) };

    public override Task<DescribeServicesResponse> DescribeServices(DescribeServicesRequest request, ServerCallContext context)
    {
        var (found, failures) = services.Describe(request.Cluster, request.Services, ToWire);
        var response = new DescribeServicesResponse();
        response.Services.AddRange(found);
        response.Failures.AddRange(failures.Select(WireConvert.ToWire));
        return Task.FromResult(response);
    }

    public override Task<ListServicesResponse> ListServices(ListServicesRequest request, ServerCallContext context)
    {
        var (arns, next) = services.List(new ListServicesQuery
        {
            Cluster = request.Cluster,
            SchedulingStrategy = request.SchedulingStrategy switch
            {
                SchedulingStrategy.Unspecified => null,
                SchedulingStrategy.Replica => Kernel.SchedulingStrategy.Replica,
                SchedulingStrategy.Daemon => Kernel.SchedulingStrategy.Daemon,
                _ => throw StateException.Invalid("scheduling_strategy must be REPLICA or DAEMON."),
            },
            LaunchType = request.LaunchType,
            MaxResults = request.MaxResults,
            NextToken = request.NextToken,
        });
        var response = new ListServicesResponse { NextToken = next };
        response.ServiceArns.AddRange(arns);
        return Task.FromResult(response);
    }

    private static DeploymentSettings? FromWire(DeploymentConfiguration? configuration) => configuration is null
        ? null
        : new DeploymentSettings
        {
            MinimumHealthyPercent = configuration.HasMinimumHealthyPercent ? configuration.MinimumHealthyPercent : null,
            MaximumPercent = configuration.HasMaximumPercent ? configuration.MaximumPercent : null,
            CircuitBreaker = configuration.DeploymentCircuitBreaker is { } breaker ? new CircuitBreakerSettings(breaker.Enable, breaker.Rollback) : null,
        };

    private static Kernel.ReconnectPolicy? FromWire(ReconnectPolicy policy) => policy switch
    {
        ReconnectPolicy.Unspecified => null,
        ReconnectPolicy.KeepReplacement => Kernel.ReconnectPolicy.KeepReplacement,
        ReconnectPolicy.KeepOriginal => Kernel.ReconnectPolicy.KeepOriginal,
        _ => throw StateException.Invalid("reconnect_policy must be KEEP_REPLACEMENT or KEEP_ORIGINAL."),
    };

    /// <summary>A service as the API shows it: the record with the counts derived from its tasks. Runs under its cluster's lock.</summary>
    internal static ServiceInfo ToWire(ServiceRecord s, ServiceCounts counts)
    {
        var info = new ServiceInfo
        {
            LoadBalancers = { s.LoadBalancers.Select(l => new V1.ServiceLoadBalancer { TargetGroupArn = l.TargetGroupArn, ContainerName = l.ContainerName, ContainerPort = l.ContainerPort }) },
            ServiceName = s.Name,
            ServiceArn = s.Arn,
            Cluster = s.Cluster,
            Status = s.Status,
            DesiredCount = counts.DaemonDesiredCount ?? s.DesiredCount,
            RunningCount = counts.Running,
            PendingCount = counts.Pending,
            TaskDefinition = s.TaskDefinitionArn,
            SchedulingStrategy = s.IsDaemon ? SchedulingStrategy.Daemon : SchedulingStrategy.Replica,
            DeploymentConfiguration = ToWire(s.DeploymentConfiguration),
            HealthCheckGracePeriodSeconds = s.HealthCheckGracePeriodSeconds,
            // ECS shows either the launch type or the strategy.
            LaunchType = s.CapacityProviderStrategy.Count == 0 ? s.LaunchType : "",
            CapacityProviderStrategy = { s.CapacityProviderStrategy.Select(CapacityProviderService.ToWire) },
            CreatedAt = WireConvert.ToWire(s.CreatedAt),
            ReconnectPolicy = s.ReconnectPolicy == Kernel.ReconnectPolicy.KeepOriginal ? ReconnectPolicy.KeepOriginal : ReconnectPolicy.KeepReplacement,
            EnableExecuteCommand = s.EnableExecuteCommand,
        };
        if (!s.SecurityGroups.IsEmpty || !s.Subnets.IsEmpty)
        {
            info.NetworkConfiguration = WireConvert.ToWire(s.SecurityGroups, s.Subnets);
        }

        info.PlacementStrategy.AddRange(s.PlacementStrategy.Select(p => new PlacementStrategy { Type = p.Type, Field = p.Value }));
        info.PlacementConstraints.AddRange(s.PlacementConstraints.Select(p => new PlacementConstraint { Type = p.Type, Expression = p.Value }));
        for (var i = 0; i < s.Deployments.Count; i++)
        {
            var d = s.Deployments[i];
            var (running, pending) = counts.ByDeployment.GetValueOrDefault(d.Id);
            info.Deployments.Add(new Deployment
            {
                Id = d.Id,
                Status = d.Status,
                TaskDefinition = d.TaskDefinitionArn,
                DesiredCount = i == 0 && counts.DaemonDesiredCount is { } daemon ? daemon : d.DesiredCount,
                PendingCount = pending,
                RunningCount = running,
                FailedTasks = d.FailedTasks,
                RolloutState = d.RolloutState,
                RolloutStateReason = d.RolloutStateReason,
                CreatedAt = WireConvert.ToWire(d.CreatedAt),
                UpdatedAt = WireConvert.ToWire(d.UpdatedAt),
                LaunchType = d.LaunchType,
            });
        }

        info.Events.AddRange(s.Events.Select(e => new ServiceEvent { Id = e.Id, CreatedAt = WireConvert.ToWire(e.CreatedAt), Message = e.Message }));
        if (s.Throttle.RetryAt is { } retryAt)
        {
            info.Throttle = new V1.ServiceThrottle { RetryAt = WireConvert.ToWire(retryAt), FailedTasks = s.Throttle.Failures, Message = s.Throttle.Summary ?? "" };
        }

        return info;
    }

    private static DeploymentConfiguration ToWire(DeploymentSettings settings)
    {
        var configuration = new DeploymentConfiguration();
        if (settings.MinimumHealthyPercent is { } minimum)
        {
            configuration.MinimumHealthyPercent = minimum;
        }

        if (settings.MaximumPercent is { } maximum)
        {
            configuration.MaximumPercent = maximum;
        }

        if (settings.CircuitBreaker is { } breaker)
        {
            configuration.DeploymentCircuitBreaker = new DeploymentCircuitBreaker { Enable = breaker.Enable, Rollback = breaker.Rollback };
        }

        return configuration;
    }
}
