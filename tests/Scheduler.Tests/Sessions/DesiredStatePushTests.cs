using Berth.Scheduler.Tests.Infrastructure;
using Berth.Scheduler.V1;
using Berth.TestSupport;
using Xunit.Abstractions;

namespace Berth.Scheduler.Tests.Sessions;

/// <summary>
/// Pushes (pre-encoded frames written straight to the session's response, several changes merged into one push while a
/// write is in flight) under concurrent RunTask and StopTask calls on several instances: every agent sees versions only
/// grow, and ends with exactly the scheduler's current set.
/// </summary>
public sealed class DesiredStatePushTests(ITestOutputHelper output) : SchedulerTest(output)
{
    [Fact]
    public async Task ConcurrentChanges_VersionsOnlyGrow_AndEveryAgentEndsWithTheLatestSet()
    {
        var agents = new List<SimulatedAgent>();
        for (var i = 0; i < 4; i++)
        {
            agents.Add(await SimulatedAgent.RegisterAsync(Host, facts: SimulatedAgent.DefaultFacts(zone: $"zone-{i % 2}", cpu: 100_000, memory: 100_000)));
        }

        try
        {
            await Host.TaskDefinitions.RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest { TaskDefinitionJson = TaskDefinitionSamples.Web(cpu: 1, memory: 8) }, Host.Admin);
            var spread = new[] { new PlacementStrategy { Type = "spread", Field = "attribute:berth.zone" }, new PlacementStrategy { Type = "spread", Field = "instanceId" } };
            var stopped = new System.Collections.Concurrent.ConcurrentBag<string>();
            var runs = await Task.WhenAll(Enumerable.Range(0, 40).Select(_ => Task.Run(async () =>
            {
                var response = await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web", Count = 4, PlacementStrategy = { spread } }, Host.Admin);
                // Stop one task of every other call while other calls are still placing and pushing.
                if (Random.Shared.Next(2) == 0)
                {
                    var victim = response.Tasks[Random.Shared.Next(response.Tasks.Count)];
                    await Host.Tasks.StopTaskAsync(new StopTaskRequest { Task = victim.TaskId, Reason = "test" }, Host.Admin);
                    stopped.Add(victim.TaskId);
                }

                return response;
            })));
            var placed = runs.SelectMany(r => r.Tasks).ToList();
            Assert.Equal(160, placed.Count);

            foreach (var agent in agents)
            {
                var mine = placed.Where(t => t.ContainerInstanceId == agent.InstanceId).ToList();
                Assert.NotEmpty(mine);
                bool IsLatest(DesiredState d) =>
                    d.Tasks.Count == mine.Count
                    && mine.All(t => d.Tasks.Any(x => x.TaskId == t.TaskId
                        && x.DesiredStatus == (stopped.Contains(t.TaskId) ? LifecycleStatus.Stopped : LifecycleStatus.Running)));
                // Wait until the agent holds the version the scheduler would send now (no push pending), then check
                // that this last set is the complete current one.
                await TaskTimeouts.WaitUntilAsync(async () =>
                {
                    var instance = (await Host.Instances.DescribeContainerInstancesAsync(new DescribeContainerInstancesRequest { ContainerInstances = { agent.InstanceId } }, Host.Admin)).ContainerInstances.Single();
                    var history = agent.DesiredSnapshot();
                    return history.Count > 0 && history[^1].Version == instance.DesiredVersion;
                }, what: $"the latest version at {agent.InstanceId}");
                var received = agent.DesiredSnapshot();
                Assert.True(IsLatest(received[^1]), $"{agent.InstanceId} holds {received[^1].Tasks.Count} tasks, expected {mine.Count}");
                var versions = received.Select(d => d.Version).ToList();
                Assert.Equal(versions.Order(), versions);
                Assert.Equal(versions.Count, versions.Distinct().Count());
            }
        }
        finally
        {
            foreach (var agent in agents)
            {
                await agent.DisposeAsync();
            }
        }
    }
}
