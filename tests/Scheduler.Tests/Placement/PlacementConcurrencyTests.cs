using Berth.Scheduler.Placement;
using static Berth.Scheduler.Tests.Placement.Cluster;

namespace Berth.Scheduler.Tests.Placement;

/// <summary>The documented caller protocol: place against V, commit only if the current snapshot is still V, else retry.</summary>
public sealed class PlacementConcurrencyTests
{
    [Fact]
    public async Task ConcurrentCallers_CommitOnlyAgainstTheCurrentSnapshot_NeverOvercommit()
    {
        // 20 instances x 8 tasks of 512 MiB = 160 slots; 8 callers ask for 30 tasks each (240), 3 per request.
        var current = Snapshot([.. Enumerable.Range(0, 20).Select(i => Instance($"i-{i:D2}", cpu: 100_000, memory: 4096))]);
        var engine = Engine();
        var placed = 0;
        var failed = 0;
        var retries = 0;
        var start = new TaskCompletionSource();

        async Task CallerAsync(int caller)
        {
            await start.Task;
            for (var request = 0; request < 10; request++)
            {
                while (true)
                {
                    var seen = Volatile.Read(ref current);
                    var result = engine.Place(seen, Request(memory: 512, count: 3, group: $"caller-{caller}",
                        strategies: [PlacementStrategy.Spread("instanceId")]));
                    // Commit: persist the tasks (not here), then publish the successor only if nobody committed since.
                    if (ReferenceEquals(Interlocked.CompareExchange(ref current, result.Snapshot, seen), seen))
                    {
                        Interlocked.Add(ref placed, result.Placements.Length);
                        Interlocked.Add(ref failed, result.Failures.Length);
                        break;
                    }

                    Interlocked.Increment(ref retries);
                }
            }
        }

        var callers = Enumerable.Range(0, 8).Select(c => Task.Run(() => CallerAsync(c))).ToArray();
        start.SetResult();
        await Task.WhenAll(callers).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(160, placed);
        Assert.Equal(80, failed);
        Assert.All(current.Instances, i => Assert.Equal(0, i.RemainingMemory));
        Assert.All(current.Instances, i => Assert.Equal(8, i.RunningTasksCount));
        Assert.Equal(160, current.Version);
    }
}
