using Berth.Scheduler.Tests.Infrastructure;
using Berth.Scheduler.V1;
using Grpc.Core;
using Xunit.Abstractions;

namespace Berth.Scheduler.Tests.Services;

public sealed class ServiceApiTests(ITestOutputHelper output) : ServiceTest(output)
{
    private static async Task<RpcException> FailsAsync<T>(Func<Task<T>> call) => await Assert.ThrowsAsync<RpcException>(call);

    [Fact]
    public async Task CreateService_StoresTheServiceWithAPrimaryDeployment()
    {
        var definition = await RegisterAsync(TaskDefinitionSamples.Worker());

        var service = await CreateAsync(new CreateServiceRequest
        {
            ServiceName = "api",
            TaskDefinition = "worker",
            DesiredCount = 2,
            PlacementStrategy = { new PlacementStrategy { Type = "spread", Field = "attribute:berth.zone" } },
            PlacementConstraints = { new PlacementConstraint { Type = "memberOf", Expression = "attribute:berth.zone != mars" } },
            HealthCheckGracePeriodSeconds = 30,
        });

        Assert.Equal("api", service.ServiceName);
        Assert.Equal("arn:berth:ecs:local:service/default/api", service.ServiceArn);
        Assert.Equal("ACTIVE", service.Status);
        Assert.Equal(2, service.DesiredCount);
        Assert.Equal(definition.Arn, service.TaskDefinition);
        Assert.Equal(SchedulingStrategy.Replica, service.SchedulingStrategy);
        Assert.Equal(ReconnectPolicy.KeepReplacement, service.ReconnectPolicy);
        Assert.Equal("EC2", service.LaunchType);
        Assert.Equal(30, service.HealthCheckGracePeriodSeconds);
        var deployment = Assert.Single(service.Deployments);
        Assert.Matches("^ecs-svc/[0-9]{19}$", deployment.Id);
        Assert.Equal("PRIMARY", deployment.Status);
        Assert.Equal("IN_PROGRESS", deployment.RolloutState);
        Assert.Equal(2, deployment.DesiredCount);
        Assert.Equal(definition.Arn, deployment.TaskDefinition);
        var cluster = Assert.Single((await Host.Clusters.DescribeClustersAsync(new DescribeClustersRequest(), Host.Admin)).Clusters);
        Assert.Equal(1, cluster.ActiveServicesCount);
    }

    [Fact]
    public async Task CreateService_InvalidFields_AreInvalidArgumentNamingTheField()
    {
        await RegisterAsync(TaskDefinitionSamples.Worker());
        CreateServiceRequest Valid() => new() { ServiceName = "api", TaskDefinition = "worker", DesiredCount = 1 };
        var cases = new (string Field, Action<CreateServiceRequest> Break)[]
        {
            ("service_name", r => r.ServiceName = "bad name!"),
            ("service_name", r => r.ServiceName = ""),
            ("task_definition", r => r.TaskDefinition = ""),
            ("desired_count", r => r.DesiredCount = -1),
            ("desired_count", r => r.DesiredCount = 10_001),
            ("minimum_healthy_percent", r => r.DeploymentConfiguration = new DeploymentConfiguration { MinimumHealthyPercent = 101 }),
            ("maximum_percent", r => r.DeploymentConfiguration = new DeploymentConfiguration { MaximumPercent = 99 }),
            ("placement_strategy[0]", r => r.PlacementStrategy.Add(new PlacementStrategy { Type = "pack", Field = "cpu" })),
            ("placement_strategy", r => r.PlacementStrategy.AddRange(Enumerable.Repeat(new PlacementStrategy { Type = "random" }, 6))),
            ("placement_constraints", r => r.PlacementConstraints.Add(new PlacementConstraint { Type = "memberOf", Expression = "" })),
            ("placement_strategy", r =>
            {
                r.SchedulingStrategy = SchedulingStrategy.Daemon;
                r.PlacementStrategy.Add(new PlacementStrategy { Type = "random" });
            }),
            ("launch_type", r => r.LaunchType = "LAMBDA"),
            ("task_definition", r => r.LaunchType = "FARGATE"),
            ("health_check_grace_period_seconds", r => r.HealthCheckGracePeriodSeconds = -5),
            ("reconnect_policy", r => r.ReconnectPolicy = (ReconnectPolicy)7),
        };

        foreach (var (field, breakIt) in cases)
        {
            var request = Valid();
            breakIt(request);

            var e = await FailsAsync(() => CreateAsync(request));

            Assert.True(e.StatusCode == StatusCode.InvalidArgument, $"{field}: {e.Status}");
            Assert.Contains(field, e.Status.Detail, StringComparison.Ordinal);
        }

        // Nothing was created by the refused calls.
        Assert.Empty((await Host.ServicesApi.ListServicesAsync(new ListServicesRequest(), Host.Admin)).ServiceArns);
    }

    [Fact]
    public async Task CreateService_UnknownClusterOrDefinition_IsNotFound_AndADuplicateIsAlreadyExists()
    {
        await RegisterAsync(TaskDefinitionSamples.Worker());

        var noCluster = await FailsAsync(() => CreateAsync(new CreateServiceRequest { Cluster = "nowhere", ServiceName = "api", TaskDefinition = "worker" }));
        var noDefinition = await FailsAsync(() => CreateAsync(new CreateServiceRequest { ServiceName = "api", TaskDefinition = "missing" }));
        var first = await CreateAsync(new CreateServiceRequest { ServiceName = "api", TaskDefinition = "worker", ClientToken = "t-1" });
        var retry = await CreateAsync(new CreateServiceRequest { ServiceName = "api", TaskDefinition = "worker", ClientToken = "t-1" });
        var duplicate = await FailsAsync(() => CreateAsync(new CreateServiceRequest { ServiceName = "api", TaskDefinition = "worker", ClientToken = "t-2" }));

        Assert.Equal(StatusCode.NotFound, noCluster.StatusCode);
        Assert.Contains("nowhere", noCluster.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(StatusCode.NotFound, noDefinition.StatusCode);
        Assert.Equal(first.Deployments[0].Id, retry.Deployments[0].Id);
        Assert.Equal(StatusCode.AlreadyExists, duplicate.StatusCode);
    }

    [Fact]
    public async Task UpdateService_ChangesAndErrors()
    {
        await RegisterAsync(TaskDefinitionSamples.Worker());
        var revision2 = await RegisterAsync(TaskDefinitionSamples.Worker(image: "registry.local/worker:2"));
        await CreateAsync(new CreateServiceRequest { ServiceName = "api", TaskDefinition = "worker:1", DesiredCount = 1 });
        await CreateAsync(new CreateServiceRequest { ServiceName = "agentd", TaskDefinition = "worker:1", SchedulingStrategy = SchedulingStrategy.Daemon });

        var scaled = await UpdateAsync(new UpdateServiceRequest { Service = "api", DesiredCount = 3 });
        var configured = await UpdateAsync(new UpdateServiceRequest { Service = "api", DeploymentConfiguration = new DeploymentConfiguration { MaximumPercent = 150 } });
        var reconfigured = await UpdateAsync(new UpdateServiceRequest
        {
            Service = "api",
            DeploymentConfiguration = new DeploymentConfiguration { MinimumHealthyPercent = 50, DeploymentCircuitBreaker = new DeploymentCircuitBreaker { Enable = true } },
        });
        var deployed = await UpdateAsync(new UpdateServiceRequest { Service = "arn:berth:ecs:local:service/default/api", TaskDefinition = revision2.Arn });
        var forced = await UpdateAsync(new UpdateServiceRequest { Service = "api", ForceNewDeployment = true });
        var notFound = await FailsAsync(() => UpdateAsync(new UpdateServiceRequest { Service = "nope", DesiredCount = 1 }));
        var daemonCount = await FailsAsync(() => UpdateAsync(new UpdateServiceRequest { Service = "agentd", DesiredCount = 2 }));
        var badCount = await FailsAsync(() => UpdateAsync(new UpdateServiceRequest { Service = "api", DesiredCount = -2 }));
        var badDefinition = await FailsAsync(() => UpdateAsync(new UpdateServiceRequest { Service = "api", TaskDefinition = "worker:9" }));
        var missingName = await FailsAsync(() => UpdateAsync(new UpdateServiceRequest { DesiredCount = 1 }));

        Assert.Equal(3, scaled.DesiredCount);
        Assert.Single(scaled.Deployments); // a count change alone starts no deployment
        Assert.Equal(2, configured.Deployments.Count);
        Assert.Equal((50, 150, true), (reconfigured.DeploymentConfiguration.MinimumHealthyPercent, reconfigured.DeploymentConfiguration.MaximumPercent, reconfigured.DeploymentConfiguration.DeploymentCircuitBreaker.Enable));
        Assert.Equal(4, deployed.Deployments.Count);
        Assert.Equal(revision2.Arn, deployed.TaskDefinition);
        Assert.Equal(("PRIMARY", revision2.Arn), (deployed.Deployments[0].Status, deployed.Deployments[0].TaskDefinition));
        Assert.Equal("ACTIVE", deployed.Deployments[1].Status);
        Assert.Equal(5, forced.Deployments.Count);
        Assert.Equal(revision2.Arn, forced.Deployments[0].TaskDefinition);
        Assert.Equal(StatusCode.NotFound, notFound.StatusCode);
        Assert.Equal(StatusCode.InvalidArgument, daemonCount.StatusCode);
        Assert.Contains("desired_count", daemonCount.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(StatusCode.InvalidArgument, badCount.StatusCode);
        Assert.Equal(StatusCode.NotFound, badDefinition.StatusCode);
        Assert.Equal(StatusCode.InvalidArgument, missingName.StatusCode);
        Assert.Contains("service", missingName.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DeleteService_NeedsZeroOrForce_ThenDrainsToInactive_AndDeleteClusterWaitsForIt()
    {
        await RegisterAsync(TaskDefinitionSamples.Worker());
        await Host.Clusters.CreateClusterAsync(new CreateClusterRequest { ClusterName = "prod" }, Host.Admin);
        await CreateAsync(new CreateServiceRequest { Cluster = "prod", ServiceName = "api", TaskDefinition = "worker", DesiredCount = 2 });

        var refused = await FailsAsync(() => Host.ServicesApi.DeleteServiceAsync(new DeleteServiceRequest { Cluster = "prod", Service = "api" }, Host.Admin).ResponseAsync);
        var clusterRefused = await FailsAsync(() => Host.Clusters.DeleteClusterAsync(new DeleteClusterRequest { Cluster = "prod" }, Host.Admin).ResponseAsync);
        var deleted = (await Host.ServicesApi.DeleteServiceAsync(new DeleteServiceRequest { Cluster = "prod", Service = "api", Force = true }, Host.Admin)).Service;
        var updateDeleted = await FailsAsync(() => UpdateAsync(new UpdateServiceRequest { Cluster = "prod", Service = "api", DesiredCount = 1 }));
        var inactive = await TaskTimeoutsWaitInactiveAsync();
        var again = await FailsAsync(() => Host.ServicesApi.DeleteServiceAsync(new DeleteServiceRequest { Cluster = "prod", Service = "api", Force = true }, Host.Admin).ResponseAsync);
        var missing = await FailsAsync(() => Host.ServicesApi.DeleteServiceAsync(new DeleteServiceRequest { Cluster = "prod", Service = "nope" }, Host.Admin).ResponseAsync);
        var listed = await Host.ServicesApi.ListServicesAsync(new ListServicesRequest { Cluster = "prod" }, Host.Admin);
        var clusterDeleted = await Host.Clusters.DeleteClusterAsync(new DeleteClusterRequest { Cluster = "prod" }, Host.Admin);

        Assert.Equal(StatusCode.FailedPrecondition, refused.StatusCode);
        Assert.Equal(StatusCode.FailedPrecondition, clusterRefused.StatusCode);
        Assert.Contains("services", clusterRefused.Status.Detail, StringComparison.Ordinal);
        Assert.Equal("DRAINING", deleted.Status);
        Assert.Equal(0, deleted.DesiredCount);
        Assert.Equal(StatusCode.FailedPrecondition, updateDeleted.StatusCode);
        Assert.Equal("INACTIVE", inactive.Status);
        Assert.Equal(StatusCode.FailedPrecondition, again.StatusCode);
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);
        Assert.Empty(listed.ServiceArns);
        Assert.Equal("INACTIVE", clusterDeleted.Cluster.Status);

        async Task<ServiceInfo> TaskTimeoutsWaitInactiveAsync() =>
            await WaitForServiceAsyncIn("prod", "api", s => s.Status == "INACTIVE");
    }

    private async Task<ServiceInfo> WaitForServiceAsyncIn(string cluster, string name, Func<ServiceInfo, bool> predicate)
    {
        ServiceInfo? last = null;
        await Berth.TestSupport.TaskTimeouts.WaitUntilAsync(async () =>
            predicate(last = (await Host.ServicesApi.DescribeServicesAsync(new DescribeServicesRequest { Cluster = cluster, Services = { name } }, Host.Admin)).Services[0]),
            TimeSpan.FromSeconds(30), $"service {name}");
        return last!;
    }

    [Fact]
    public async Task DescribeAndList_ReportMissing_FilterAndPage()
    {
        await RegisterAsync(TaskDefinitionSamples.Worker());
        for (var i = 0; i < 12; i++)
        {
            await CreateAsync(new CreateServiceRequest { ServiceName = $"svc-{i:D2}", TaskDefinition = "worker" });
        }

        await CreateAsync(new CreateServiceRequest { ServiceName = "daemon", TaskDefinition = "worker", SchedulingStrategy = SchedulingStrategy.Daemon });

        var described = await Host.ServicesApi.DescribeServicesAsync(new DescribeServicesRequest { Services = { "svc-00", "arn:berth:ecs:local:service/default/svc-01", "ghost" } }, Host.Admin);
        var tooMany = await FailsAsync(() => Host.ServicesApi.DescribeServicesAsync(new DescribeServicesRequest { Services = { Enumerable.Range(0, 11).Select(i => $"svc-{i:D2}") } }, Host.Admin).ResponseAsync);
        var none = await FailsAsync(() => Host.ServicesApi.DescribeServicesAsync(new DescribeServicesRequest(), Host.Admin).ResponseAsync);
        var page1 = await Host.ServicesApi.ListServicesAsync(new ListServicesRequest(), Host.Admin);
        var page2 = await Host.ServicesApi.ListServicesAsync(new ListServicesRequest { NextToken = page1.NextToken }, Host.Admin);
        var daemons = await Host.ServicesApi.ListServicesAsync(new ListServicesRequest { SchedulingStrategy = SchedulingStrategy.Daemon }, Host.Admin);
        var badPage = await FailsAsync(() => Host.ServicesApi.ListServicesAsync(new ListServicesRequest { MaxResults = 101 }, Host.Admin).ResponseAsync);
        var noCluster = await FailsAsync(() => Host.ServicesApi.ListServicesAsync(new ListServicesRequest { Cluster = "nowhere" }, Host.Admin).ResponseAsync);

        Assert.Equal(["svc-00", "svc-01"], described.Services.Select(s => s.ServiceName));
        var failure = Assert.Single(described.Failures);
        Assert.Equal(("ghost", "MISSING"), (failure.Arn, failure.Reason));
        Assert.Equal(StatusCode.InvalidArgument, tooMany.StatusCode);
        Assert.Equal(StatusCode.InvalidArgument, none.StatusCode);
        Assert.Equal(10, page1.ServiceArns.Count); // ECS's default page size
        Assert.Equal(3, page2.ServiceArns.Count);
        Assert.Equal("", page2.NextToken);
        Assert.Equal(13, page1.ServiceArns.Concat(page2.ServiceArns).Distinct().Count());
        Assert.Equal("arn:berth:ecs:local:service/default/daemon", Assert.Single(daemons.ServiceArns));
        Assert.Equal(StatusCode.InvalidArgument, badPage.StatusCode);
        Assert.Equal(StatusCode.NotFound, noCluster.StatusCode);
    }
}
