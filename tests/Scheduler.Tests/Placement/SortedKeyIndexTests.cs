using Berth.Scheduler.Placement;

namespace Berth.Scheduler.Tests.Placement;

public sealed class SortedKeyIndexTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void RandomOperations_MatchASortedModel_AndOldVersionsStayIntact(int seed)
    {
        var random = new Random(seed);
        var model = new SortedDictionary<long, int>();
        var amounts = new Dictionary<int, int>();
        for (var position = 0; position < 500; position++)
        {
            amounts[position] = random.Next(-50, 5000);
            model[SortedKeyIndex.Key(amounts[position], position)] = random.Next(0, 100);
        }

        var index = SortedKeyIndex.Build([.. model.Keys], [.. model.Values]);
        var history = new List<(SortedKeyIndex Index, KeyValuePair<long, int>[] Model)> { (index, model.ToArray()) };
        for (var op = 0; op < 3000; op++)
        {
            var position = random.Next(700);
            var had = amounts.TryGetValue(position, out var oldAmount);
            long? oldKey = had ? SortedKeyIndex.Key(oldAmount, position) : null;
            var remove = had && random.Next(6) == 0;
            var newAmount = random.Next(3) == 0 ? random.Next(-50, 5000) : oldAmount + random.Next(-200, 200);
            long? newKey = remove ? null : SortedKeyIndex.Key(newAmount, position);
            var other = random.Next(0, 100);
            index = index.Replace(oldKey, newKey, other);
            if (oldKey is { } o)
            {
                model.Remove(o);
                amounts.Remove(position);
            }

            if (newKey is { } n)
            {
                model[n] = other;
                amounts[position] = newAmount;
            }

            if (op % 100 == 0)
            {
                history.Add((index, model.ToArray()));
            }
        }

        history.Add((index, model.ToArray()));
        foreach (var (version, expected) in history)
        {
            Verify(version, expected, random);
        }
    }

    private static void Verify(SortedKeyIndex index, KeyValuePair<long, int>[] expected, Random random)
    {
        Assert.Equal(expected.Length, index.Count);
        Assert.Equal(expected.Select(e => e.Key), Ascending(index.From(long.MinValue)));
        for (var probe = 0; probe < 5; probe++)
        {
            var from = SortedKeyIndex.Key(random.Next(-60, 5100), random.Next(700));
            var minOther = random.Next(0, 100);
            Assert.Equal(expected.Where(e => e.Key >= from && e.Value >= minOther).Select(e => e.Key), Ascending(index.From(from, minOther)));
            Assert.Equal(expected.Where(e => e.Value >= minOther).Select(e => e.Key).Reverse(), Descending(index.Descending(minOther)));
        }

        if (expected.Length > 0)
        {
            var rank = random.Next(expected.Length);
            Assert.Equal(expected[rank].Key, index.ElementAt(rank));
            Assert.True(index.Contains(expected[rank].Key));
        }
    }

    [Fact]
    public void Key_OrdersByAmountThenPosition_IncludingNegativeAmounts()
    {
        Assert.True(SortedKeyIndex.Key(-5, 9) < SortedKeyIndex.Key(0, 0));
        Assert.True(SortedKeyIndex.Key(10, 1) < SortedKeyIndex.Key(10, 2));
        Assert.True(SortedKeyIndex.Key(10, SortedKeyIndex.MaxPosition) < SortedKeyIndex.Key(11, 0));
        Assert.Equal(-5, SortedKeyIndex.AmountOf(SortedKeyIndex.Key(-5, 9)));
        Assert.Equal(9, SortedKeyIndex.PositionOf(SortedKeyIndex.Key(-5, 9)));
        Assert.Equal(int.MaxValue, SortedKeyIndex.AmountOf(SortedKeyIndex.Key(int.MaxValue, 0)));
    }

    [Fact]
    public void Replace_MissingKey_Throws() =>
        Assert.Throws<InvalidOperationException>(() => SortedKeyIndex.Build([1, 2], [0, 0]).Replace(5, 6, 0));

    [Fact]
    public void PersistentArray_SetItem_LeavesTheOriginal()
    {
        var original = PersistentArray<int>.From([.. Enumerable.Range(0, 1000)]);
        var changed = original.SetItem(700, -1);
        Assert.Equal(700, original[700]);
        Assert.Equal(-1, changed[700]);
        Assert.Equal(699, changed[699]);
        Assert.Throws<ArgumentOutOfRangeException>(() => original.SetItem(1000, 0));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(32)]
    [InlineData(33)]
    [InlineData(1025)]
    [InlineData(40_000)]
    public void PersistentArray_AnySize_MatchesAPlainArrayAcrossVersions(int size)
    {
        var random = new Random(size);
        var model = Enumerable.Range(0, size).ToArray();
        var array = PersistentArray<int>.From(model);
        var versions = new List<(PersistentArray<int>, int[])> { (array, (int[])model.Clone()) };
        for (var i = 0; i < Math.Min(size, 500); i++)
        {
            var at = random.Next(size);
            model[at] = -i;
            array = array.SetItem(at, -i);
            versions.Add((array, (int[])model.Clone()));
        }

        // Every version for small arrays; for large ones the first, a middle and the last (enough to see sharing bugs).
        var checkedVersions = size <= 2000 ? versions : [versions[0], versions[versions.Count / 2], versions[^1]];
        foreach (var (version, expected) in checkedVersions)
        {
            Assert.Equal(expected.Length, version.Count);
            Assert.Equal(expected, Enumerable.Range(0, version.Count).Select(i => version[i]));
        }
    }

    private static List<long> Ascending(SortedKeyIndex.AscendingEnumerator cursor)
    {
        var keys = new List<long>();
        while (cursor.MoveNext())
        {
            keys.Add(cursor.Current);
        }

        return keys;
    }

    private static List<long> Descending(SortedKeyIndex.DescendingEnumerator cursor)
    {
        var keys = new List<long>();
        while (cursor.MoveNext())
        {
            keys.Add(cursor.Current);
        }

        return keys;
    }
}
