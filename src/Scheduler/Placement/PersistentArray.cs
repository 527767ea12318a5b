namespace Berth.Scheduler.Placement;

/// <summary>
/// An immutable array stored as a 32-way trie; <see cref="SetItem"/> copies one node per level (three levels of 32
/// references for 10,000 elements, about 0.8 KB) instead of the whole array (80 KB).
/// </summary>
internal sealed class PersistentArray<T>
{
    private const int Bits = 5;
    private const int Width = 1 << Bits;
    private const int Mask = Width - 1;

    // Levels above the leaves hold object[] children; leaves hold T[].
    private readonly object _root;
    private readonly int _shift;

    private PersistentArray(object root, int shift, int count)
    {
        _root = root;
        _shift = shift;
        Count = count;
    }

    public int Count { get; }

    public T this[int index]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)Count, nameof(index));
            var node = _root;
            for (var shift = _shift; shift > 0; shift -= Bits)
            {
                node = ((object[])node)[(index >> shift) & Mask];
            }

            return ((T[])node)[index & Mask];
        }
    }

    public static PersistentArray<T> From(IReadOnlyList<T> items)
    {
        // Leaves first, then levels of 32 until one node remains.
        var level = new List<object>();
        for (var start = 0; start < Math.Max(items.Count, 1); start += Width)
        {
            var leaf = new T[Width];
            for (var i = start; i < Math.Min(start + Width, items.Count); i++)
            {
                leaf[i - start] = items[i];
            }

            level.Add(leaf);
        }

        var shift = 0;
        while (level.Count > 1)
        {
            var parents = new List<object>();
            for (var start = 0; start < level.Count; start += Width)
            {
                var node = new object[Width];
                for (var i = start; i < Math.Min(start + Width, level.Count); i++)
                {
                    node[i - start] = level[i];
                }

                parents.Add(node);
            }

            level = parents;
            shift += Bits;
        }

        return new PersistentArray<T>(level[0], shift, items.Count);
    }

    public PersistentArray<T> SetItem(int index, T value)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)Count, nameof(index));
        return new PersistentArray<T>(SetIn(_root, _shift, index, value), _shift, Count);
    }

    private static object SetIn(object node, int shift, int index, T value)
    {
        if (shift == 0)
        {
            var leaf = (T[])((T[])node).Clone();
            leaf[index & Mask] = value;
            return leaf;
        }

        var copy = (object[])((object[])node).Clone();
        var slot = (index >> shift) & Mask;
        copy[slot] = SetIn(copy[slot], shift - Bits, index, value);
        return copy;
    }
}
