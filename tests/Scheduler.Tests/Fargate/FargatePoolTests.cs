using Berth.Scheduler.Provisioning;
using Berth.Scheduler.Tests.Infrastructure;
using Berth.Scheduler.V1;
using Berth.TestSupport;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Berth.Scheduler.Tests.Fargate;

/// <summary>
/// The FARGATE capacity provider's pool, in one scheduler on a fake clock over real gRPC: the pool's hosts are simulated
/// agents made by the fake provisioner, the user's instance a simulated agent registered by hand. The loops' own timers
/// are a day apart: the tests move the clock and run the capacity provider pass themselves.
/// </summary>
public sealed class FargatePoolTests(ITestOutputHelper output)
    : FargatePoolTest(output, new DateTimeOffset(2026, 12, 4, 16, 0, 0, TimeSpan.Zero))
{

    [Fact]
    public async Task AFargateService_GrowsThePoolFromZero_RunsOnlyThere_IsHidden_AndThePoolShrinksToZeroAfterTheIdleTimeout()
    {
        // The user's own instance has room for two of the FARGATE tasks: before the pool they would have gone there.
        await using var mine = await SimulatedAgent.RegisterAsync(Host);
        var mineArn = Scheduler.Kernel.Arns.ContainerInstance("default", mine.InstanceId);
        await Host.TaskDefinitions.RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest { TaskDefinitionJson = Serverless }, Host.Admin);
        await Host.TaskDefinitions.RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest { TaskDefinitionJson = TaskDefinitionSamples.Web(memory: 1500) }, Host.Admin);

        // The pool's first host is held at the provisioner until the waiting tasks were seen (the pass that a commit
        // wakes may ask for it at once).
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Provisioner.OnCreate = async (request, cancellationToken) =>
        {
            await gate.Task.WaitAsync(cancellationToken);
            return await Provisioner.MakeAsync(request);
        };

        await Host.ServicesApi.CreateServiceAsync(new CreateServiceRequest { ServiceName = "api", TaskDefinition = "api", DesiredCount = 3, LaunchType = "FARGATE" }, Host.Admin);

        // Nothing in the pool yet: the tasks wait in PROVISIONING, saying for what.
        var waiting = await WaitForServiceTasksAsync("api", 3);
        Assert.All(waiting, t =>
        {
            Assert.Equal(LifecycleStatus.Provisioning, t.LastStatus);
            Assert.Equal("FARGATE", t.LaunchType);
            Assert.Equal("Waiting for capacity from capacity provider 'FARGATE' (Berth's FARGATE pool, which makes a host): No Container Instances were found in your capacity provider.", t.ProvisioningReason);
        });

        // Managed scaling: one host (nothing to measure yet); once it registered, two tasks fit on it and the same pass
        // that places them asks for a second host for the third.
        await Pass.RunOnceAsync(CancellationToken.None).WithTimeout();
        gate.SetResult();
        var pool = (await WaitForPoolAsync(p => p.FargatePool.Hosts.Count(h => h.LifecycleState == "InService" && h.ContainerInstanceArn.Length > 0) == 2, "two pool hosts")).FargatePool;
        Assert.Equal((2, 3), (pool.DesiredCapacity, pool.MaxSize));
        var poolInstances = pool.Hosts.Select(h => h.ContainerInstanceArn).ToHashSet();
        var placed = await WaitForServiceTasksAsync("api", 3, ts => ts.All(t => t.LastStatus == LifecycleStatus.Pending));
        Assert.All(placed, t => Assert.Contains(t.ContainerInstanceArn, poolInstances));
        Assert.All(placed, t => Assert.Equal("FARGATE", t.CapacityProviderName));
        foreach (var host in pool.Hosts)
        {
            Assert.Equal("true", Provisioner.Requests[host.Name].AgentAttributes["berth.fargate-pool"]);
        }

        // EC2 tasks stay off the pool: two fit the user's instance; the third fails there although a pool host has room.
        var ec2 = await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web", Count = 3, LaunchType = "EC2" }, Host.Admin);
        Assert.Equal(2, ec2.Tasks.Count);
        Assert.All(ec2.Tasks, t => Assert.Equal(mineArn, t.ContainerInstanceArn));
        Assert.Equal("RESOURCE:MEMORY", Assert.Single(ec2.Failures).Reason);

        // The pool is the platform's: not among the user's instances (unless asked) nor host groups, and not theirs to change.
        Assert.Equal([mineArn], await InstanceArnsAsync(includeFargate: false));
        Assert.Equal(poolInstances.Append(mineArn).Order(), (await InstanceArnsAsync(includeFargate: true)).Order());
        Assert.Empty((await Groups.DescribeHostGroupsAsync(new DescribeHostGroupsRequest(), Host.Admin)).HostGroups);
        var reserved = await Assert.ThrowsAsync<RpcException>(() => Groups.CreateHostGroupAsync(new CreateHostGroupRequest { Name = "FARGATE", MaxSize = 1 }, Host.Admin).ResponseAsync);
        Assert.StartsWith("ValidationError: AutoScalingGroupName 'FARGATE' is reserved", reserved.Status.Detail, StringComparison.Ordinal);
        var delete = await Assert.ThrowsAsync<RpcException>(() => Providers.DeleteCapacityProviderAsync(new DeleteCapacityProviderRequest { CapacityProvider = "FARGATE" }, Host.Admin).ResponseAsync);
        Assert.Equal((StatusCode.InvalidArgument, "ClientException: The specified capacity provider 'FARGATE' is reserved and can't be deleted."), (delete.StatusCode, delete.Status.Detail));
        await Assert.ThrowsAsync<RpcException>(() => Groups.UpdateHostGroupAsync(new UpdateHostGroupRequest { Name = "FARGATE", DesiredCapacity = 0 }, Host.Admin).ResponseAsync);

        // Scale to 0: the tasks stop on their hosts.
        await Host.ServicesApi.UpdateServiceAsync(new UpdateServiceRequest { Service = "api", DesiredCount = 0 }, Host.Admin);
        foreach (var task in placed)
        {
            var agent = Provisioner.Agent(pool.Hosts.Single(h => h.ContainerInstanceArn == task.ContainerInstanceArn).Name)!;
            await agent.WaitForDesiredAsync(d => d.Tasks.All(t => t.TaskArn != task.TaskArn || t.DesiredStatus == LifecycleStatus.Stopped), "the stop to reach the pool host");
            await agent.ReportAsync(task.TaskId, LifecycleStatus.Stopped);
        }

        await WaitForServiceTasksAsync("api", 0);
        // The service lists none as soon as their desired status is STOPPED; the hosts are empty only once the agents'
        // reports are in (else the first pass below still sees busy hosts and the idle time starts a pass later).
        await TaskTimeouts.WaitUntilAsync(async () =>
            (await Host.Tasks.DescribeTasksAsync(new DescribeTasksRequest { Tasks = { placed.Select(t => t.TaskArn) } }, Host.Admin)).Tasks.All(t => t.LastStatus == LifecycleStatus.Stopped),
            what: "the pool hosts' tasks STOPPED");

        // Empty hosts for 4 of the 5 minutes: still there.
        await Pass.RunOnceAsync(CancellationToken.None).WithTimeout();
        Clock.Advance(TimeSpan.FromMinutes(4));
        await Pass.RunOnceAsync(CancellationToken.None).WithTimeout();
        Assert.Equal(2, (await DescribePoolAsync()).FargatePool.DesiredCapacity);

        Clock.Advance(TimeSpan.FromMinutes(1));
        await Pass.RunOnceAsync(CancellationToken.None).WithTimeout();
        var empty = await WaitForPoolAsync(p => p.FargatePool.Hosts.Count == 0, "the pool back to 0");
        Assert.Equal(0, empty.FargatePool.DesiredCapacity);
        Assert.All(pool.Hosts, h => Assert.Contains($"destroy {h.Name}", Provisioner.Calls));
        Assert.Equal([mineArn], await InstanceArnsAsync(includeFargate: true));
        Assert.StartsWith("Terminating host: fargate-", empty.FargatePool.Activities[0].Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task APoolHostWhoseAgentHasNotConnectedYet_DoesNotMakeThePoolAskForAnother_AndTakesTheTasksOnceItDoes()
    {
        // A real agent registers, then opens its session: between the two the host is in service but placement cannot use
        // it. Here the pool's host stays in that window until the test connects it.
        Provisioner.OnCreate = (request, _) => Provisioner.MakeAsync(request, connect: false);
        await Host.Clusters.CreateClusterAsync(new CreateClusterRequest { ClusterName = "default" }, Host.Admin);
        await Host.TaskDefinitions.RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest { TaskDefinitionJson = Serverless }, Host.Admin);
        await Host.ServicesApi.CreateServiceAsync(new CreateServiceRequest { ServiceName = "api", TaskDefinition = "api", DesiredCount = 2, LaunchType = "FARGATE" }, Host.Admin);
        await WaitForServiceTasksAsync("api", 2);

        await Pass.RunOnceAsync(CancellationToken.None).WithTimeout();
        var host = (await WaitForPoolAsync(p => p.FargatePool.Hosts.Any(h => h is { LifecycleState: "InService", ContainerInstanceArn.Length: > 0 }), "the pool's host registered")).FargatePool.Hosts.First(h => h.LifecycleState == "InService");

        // Both tasks (two fit one host) still wait: a pass must not count the host as one that could not take them.
        await Pass.RunOnceAsync(CancellationToken.None).WithTimeout();
        var pool = (await DescribePoolAsync()).FargatePool;
        Assert.Equal((1, 1), (pool.DesiredCapacity, pool.Hosts.Count));
        Assert.All(await WaitForServiceTasksAsync("api", 2), t => Assert.Equal(LifecycleStatus.Provisioning, t.LastStatus));

        // Its session comes up: the tasks go there, and the pool still wants one host.
        await Provisioner.Agent(host.Name)!.ConnectAsync();
        await Pass.RunOnceAsync(CancellationToken.None).WithTimeout();
        var placed = await WaitForServiceTasksAsync("api", 2, ts => ts.All(t => t.LastStatus == LifecycleStatus.Pending));
        Assert.All(placed, t => Assert.Equal(host.ContainerInstanceArn, t.ContainerInstanceArn));
        await Pass.RunOnceAsync(CancellationToken.None).WithTimeout();
        pool = (await DescribePoolAsync()).FargatePool;
        Assert.Equal((1, 1), (pool.DesiredCapacity, pool.Hosts.Count));
        Assert.Equal([$"create {host.Name}"], Provisioner.Calls.Where(c => c.StartsWith("create ", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task AFailingProvisioner_IsShownOnTheFargateProvider_AndInTheServiceEvents_AndLeavesNoHostRegistered()
    {
        // The host's agent registers, then the provisioner fails (a timeout after the registration).
        Provisioner.OnCreate = async (request, _) =>
        {
            await Provisioner.RegisterAsync(request, connect: false);
            throw new ProvisionerException($"lab create {request.Name} failed (exit 1).", ProvisionerErrorKind.Failed, "host.sh: dockerd did not answer");
        };
        await Host.Clusters.CreateClusterAsync(new CreateClusterRequest { ClusterName = "default" }, Host.Admin);
        await Providers.PutClusterCapacityProvidersAsync(new PutClusterCapacityProvidersRequest { CapacityProviders = { "FARGATE" } }, Host.Admin);
        await Host.TaskDefinitions.RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest { TaskDefinitionJson = Serverless }, Host.Admin);
        await Host.ServicesApi.CreateServiceAsync(new CreateServiceRequest
        {
            ServiceName = "api", TaskDefinition = "api", DesiredCount = 1, CapacityProviderStrategy = { new CapacityProviderStrategyItem { CapacityProvider = "FARGATE", Weight = 1 } },
        }, Host.Admin).ResponseAsync.WithTimeout();
        await WaitForServiceTasksAsync("api", 1);

        await Pass.RunOnceAsync(CancellationToken.None).WithTimeout();

        var provider = await WaitForPoolAsync(p => p.FargatePool.LastFailure is not null, "the failure on the FARGATE provider");
        var failure = provider.FargatePool.LastFailure;
        Assert.Equal("Failed", failure.StatusCode);
        Assert.Contains("host.sh: dockerd did not answer", failure.StatusMessage, StringComparison.Ordinal);
        Assert.Equal(1, provider.ProvisioningTasks);
        var host = failure.Description["Launching a new host: ".Length..];
        var service = (await Host.ServicesApi.DescribeServicesAsync(new DescribeServicesRequest { Services = { "api" } }, Host.Admin)).Services.Single();
        Assert.Contains(service.Events, e => e.Message.StartsWith($"(service api) was unable to place a task. Reason: capacity provider 'FARGATE' could not make host {host}: lab create {host} failed (exit 1).", StringComparison.Ordinal));
        // Nothing half-made: the attempt was destroyed and the instance its agent registered deregistered.
        Assert.Contains($"destroy {host}", Provisioner.Calls);
        Assert.Empty(await InstanceArnsAsync(includeFargate: true));
        Assert.Empty(provider.FargatePool.Hosts);
        // The task still waits (for the next attempt), rather than going anywhere else.
        Assert.Equal(LifecycleStatus.Provisioning, (await WaitForServiceTasksAsync("api", 1)).Single().LastStatus);
    }

    private async Task<List<string>> InstanceArnsAsync(bool includeFargate) =>
        [.. (await Host.Instances.ListContainerInstancesAsync(new ListContainerInstancesRequest { IncludeFargate = includeFargate }, Host.Admin)).ContainerInstanceArns];
}
