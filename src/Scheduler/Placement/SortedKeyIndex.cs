namespace Berth.Scheduler.Placement;

/// <summary>
/// An immutable sorted set of distinct 64-bit keys, kept as a list of sorted blocks (64-128 keys each). A lookup is two
/// binary searches; an update copies one block and the block table (about n/64 references), so successors share all
/// other blocks. Placement keys pack a resource amount and an instance position (see <see cref="Key"/>), which makes
/// "the instance with the least remaining memory that is at least X" a lower-bound search.
/// </summary>
internal sealed class SortedKeyIndex
{
    private const int MaxBlock = 128;
    private const int FillBlock = 64;
    private const int PositionBits = 24;
    private const long PositionMask = (1L << PositionBits) - 1;

    public static readonly SortedKeyIndex Empty = new([], 0);

    private readonly long[][] _blocks;
    private int[]? _starts;

    private SortedKeyIndex(long[][] blocks, int count)
    {
        _blocks = blocks;
        Count = count;
    }

    public int Count { get; }

    /// <summary>Largest instance position a key can carry.</summary>
    public const int MaxPosition = (int)PositionMask;

    /// <summary>Packs an amount (any int, ordered as ints) and an instance position into an ordered key.</summary>
    public static long Key(int amount, int position) => ((long)(uint)(amount ^ int.MinValue) << PositionBits) | (uint)position;

    /// <summary>The instance position of a key.</summary>
    public static int PositionOf(long key) => (int)(key & PositionMask);

    /// <summary>The amount of a key.</summary>
    public static int AmountOf(long key) => (int)((uint)(key >> PositionBits) ^ 0x80000000u);

    public static SortedKeyIndex Build(long[] keys)
    {
        Array.Sort(keys);
        var blocks = new long[(keys.Length + FillBlock - 1) / FillBlock][];
        for (var b = 0; b < blocks.Length; b++)
        {
            blocks[b] = keys.AsSpan(b * FillBlock, Math.Min(FillBlock, keys.Length - (b * FillBlock))).ToArray();
        }

        return new SortedKeyIndex(blocks, keys.Length);
    }

    public SortedKeyIndex Add(long key) => Replace(null, key);

    public SortedKeyIndex Remove(long key) => Replace(key, null);

    /// <summary>Removes <paramref name="oldKey"/> (which must be present) and adds <paramref name="newKey"/>.</summary>
    public SortedKeyIndex Replace(long? oldKey, long? newKey)
    {
        if (oldKey == newKey)
        {
            return this;
        }

        if (oldKey is { } o && newKey is { } n && _blocks.Length > 0)
        {
            // Common case: an amount changes a little and the new key still falls inside the old key's block (between its
            // first and last key), so only that block is copied and the order across blocks is kept.
            var b = FindBlock(o);
            if (b < _blocks.Length && n >= _blocks[b][0] && n <= _blocks[b][^1])
            {
                var block = _blocks[b];
                var at = Array.BinarySearch(block, o);
                if (at < 0)
                {
                    throw new InvalidOperationException("Key to replace is not in the index.");
                }

                var copy = new long[block.Length];
                var j = 0;
                var inserted = false;
                for (var i = 0; i < block.Length; i++)
                {
                    if (i == at)
                    {
                        continue;
                    }

                    if (!inserted && n < block[i])
                    {
                        copy[j++] = n;
                        inserted = true;
                    }

                    copy[j++] = block[i];
                }

                if (!inserted)
                {
                    copy[j] = n;
                }

                var blocks = (long[][])_blocks.Clone();
                blocks[b] = copy;
                return new SortedKeyIndex(blocks, Count);
            }
        }

        var result = this;
        if (oldKey is { } remove)
        {
            result = result.RemoveCore(remove);
        }

        if (newKey is { } add)
        {
            result = result.AddCore(add);
        }

        return result;
    }

    public bool Contains(long key)
    {
        if (_blocks.Length == 0)
        {
            return false;
        }

        var b = FindBlock(key);
        return b < _blocks.Length && Array.BinarySearch(_blocks[b], key) >= 0;
    }

    /// <summary>The key at <paramref name="rank"/> (0 = smallest).</summary>
    public long ElementAt(int rank)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)rank, (uint)Count, nameof(rank));
        var starts = _starts ??= ComputeStarts();
        var b = Array.BinarySearch(starts, rank);
        if (b < 0)
        {
            b = ~b - 1;
        }

        return _blocks[b][rank - starts[b]];
    }

    /// <summary>Keys ≥ <paramref name="from"/>, ascending.</summary>
    public AscendingEnumerator From(long from)
    {
        if (_blocks.Length == 0)
        {
            return new AscendingEnumerator(_blocks, 0, -1);
        }

        var b = FindBlock(from);
        if (b >= _blocks.Length)
        {
            return new AscendingEnumerator(_blocks, _blocks.Length, -1);
        }

        var i = Array.BinarySearch(_blocks[b], from);
        return new AscendingEnumerator(_blocks, b, (i < 0 ? ~i : i) - 1);
    }

    /// <summary>All keys, descending.</summary>
    public DescendingEnumerator Descending() =>
        _blocks.Length == 0 ? new DescendingEnumerator(_blocks, -1, 0) : new DescendingEnumerator(_blocks, _blocks.Length - 1, _blocks[^1].Length);

    private int[] ComputeStarts()
    {
        var starts = new int[_blocks.Length];
        var total = 0;
        for (var b = 0; b < _blocks.Length; b++)
        {
            starts[b] = total;
            total += _blocks[b].Length;
        }

        return starts;
    }

    /// <summary>The first block whose last key is ≥ key; the block count when there is none.</summary>
    private int FindBlock(long key)
    {
        int lo = 0, hi = _blocks.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (_blocks[mid][^1] < key)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    private SortedKeyIndex RemoveCore(long key)
    {
        var b = _blocks.Length == 0 ? 0 : FindBlock(key);
        var at = b < _blocks.Length ? Array.BinarySearch(_blocks[b], key) : -1;
        if (at < 0)
        {
            throw new InvalidOperationException("Key to remove is not in the index.");
        }

        var block = _blocks[b];
        if (block.Length == 1)
        {
            var fewer = new long[_blocks.Length - 1][];
            Array.Copy(_blocks, 0, fewer, 0, b);
            Array.Copy(_blocks, b + 1, fewer, b, _blocks.Length - b - 1);
            return new SortedKeyIndex(fewer, Count - 1);
        }

        var copy = new long[block.Length - 1];
        Array.Copy(block, 0, copy, 0, at);
        Array.Copy(block, at + 1, copy, at, block.Length - at - 1);
        var blocks = (long[][])_blocks.Clone();
        blocks[b] = copy;
        return new SortedKeyIndex(blocks, Count - 1);
    }

    private SortedKeyIndex AddCore(long key)
    {
        if (_blocks.Length == 0)
        {
            return new SortedKeyIndex([[key]], 1);
        }

        var b = Math.Min(FindBlock(key), _blocks.Length - 1);
        var block = _blocks[b];
        var at = Array.BinarySearch(block, key);
        if (at >= 0)
        {
            throw new InvalidOperationException("Key is already in the index.");
        }

        at = ~at;
        var grown = new long[block.Length + 1];
        Array.Copy(block, 0, grown, 0, at);
        grown[at] = key;
        Array.Copy(block, at, grown, at + 1, block.Length - at);
        if (grown.Length <= MaxBlock)
        {
            var blocks = (long[][])_blocks.Clone();
            blocks[b] = grown;
            return new SortedKeyIndex(blocks, Count + 1);
        }

        var half = grown.Length / 2;
        var more = new long[_blocks.Length + 1][];
        Array.Copy(_blocks, 0, more, 0, b);
        more[b] = grown[..half];
        more[b + 1] = grown[half..];
        Array.Copy(_blocks, b + 1, more, b + 2, _blocks.Length - b - 1);
        return new SortedKeyIndex(more, Count + 1);
    }

    /// <summary>Ascending cursor; a struct so that a search allocates nothing.</summary>
    public struct AscendingEnumerator(long[][] blocks, int block, int index)
    {
        private int _block = block;
        private int _index = index;

        public readonly long Current => blocks[_block][_index];

        public bool MoveNext()
        {
            while (_block < blocks.Length)
            {
                if (++_index < blocks[_block].Length)
                {
                    return true;
                }

                _block++;
                _index = -1;
            }

            return false;
        }
    }

    /// <summary>Descending cursor.</summary>
    public struct DescendingEnumerator(long[][] blocks, int block, int index)
    {
        private int _block = block;
        private int _index = index;

        public readonly long Current => blocks[_block][_index];

        public bool MoveNext()
        {
            while (_block >= 0)
            {
                if (--_index >= 0)
                {
                    return true;
                }

                if (--_block >= 0)
                {
                    _index = blocks[_block].Length;
                }
            }

            return false;
        }
    }
}
