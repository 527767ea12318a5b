using Berth.Scheduler.CapacityProviders;
using Berth.Scheduler.Kernel;

namespace Berth.Scheduler.Tests.CapacityProviders;

/// <summary>The base-then-weight split against the worked examples of ECS's documentation, and an oracle of the ratio.</summary>
public sealed class StrategySplitTests
{
    [Fact]
    public void EqualWeights_SplitEvenly_AfterTheBase()
    {
        // ECS: "both have a weight of 1, then when the base is satisfied, the tasks will be split evenly".
        Assert.Equal([3, 2], StrategySplit.Split([new("A", 1, 1), new("B", 0, 1)], 5));
        Assert.Equal([5, 5], StrategySplit.Split([new("A", 0, 1), new("B", 0, 1)], 10));
    }

    [Fact]
    public void WeightOneToFour_PutsOneOnAForEveryFourOnB()
    {
        // ECS: "a weight of 1 for capacityProviderA and a weight of 4 for capacityProviderB, then for every one task that's
        // run using capacityProviderA, four tasks would use capacityProviderB".
        Assert.Equal([1, 4], StrategySplit.Split([new("A", 0, 1), new("B", 0, 4)], 5));
        Assert.Equal([2, 8], StrategySplit.Split([new("A", 0, 1), new("B", 0, 4)], 10));
    }

    [Fact]
    public void BaseIsServedFirst_ThenTheRestByWeight()
    {
        // ECS's example of a base: on-demand base 2 weight 1 and spot weight 3; ten tasks: 2 by base, then 8 at 1:3.
        Assert.Equal([4, 6], StrategySplit.Split([new("ondemand", 2, 1), new("spot", 0, 3)], 10));
        // Fewer tasks than the base: all on the base's provider.
        Assert.Equal([2, 0], StrategySplit.Split([new("ondemand", 3, 1), new("spot", 0, 3)], 2));
        // A weight-0 provider with a base gets its base and nothing more.
        Assert.Equal([2, 5], StrategySplit.Split([new("ondemand", 2, 0), new("spot", 0, 1)], 7));
    }

    [Fact]
    public void ExistingTasks_CountTowardTheBaseAndTheRatio()
    {
        // A service at 4 + 6 (the example above) that grows by 4 keeps 1:3 beyond its base: 1 more on A, 3 on B.
        Assert.Equal([1, 3], StrategySplit.Split([new("A", 2, 1), new("B", 0, 3)], 4, [4, 6]));
        // The base was not met (its tasks stopped): it is met first.
        Assert.Equal([2, 0], StrategySplit.Split([new("A", 2, 1), new("B", 0, 3)], 2, [0, 6]));
    }

    [Fact]
    public void EveryRoundOfTheWeights_GivesEachItemExactlyItsWeight()
    {
        // Oracle: for any multiple of the weights' sum beyond the base, the split is exactly proportional.
        var random = new Random(18);
        for (var run = 0; run < 200; run++)
        {
            var items = Enumerable.Range(0, random.Next(1, 7)).Select(i => new StrategyItem($"p{i}", 0, random.Next(1, 10))).ToList();
            var rounds = random.Next(0, 5);
            var sum = items.Sum(i => i.Weight);
            var split = StrategySplit.Split(items, sum * rounds);
            Assert.Equal(items.Select(i => i.Weight * rounds), split);
        }
    }
}
