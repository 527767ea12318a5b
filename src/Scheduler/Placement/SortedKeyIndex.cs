namespace Berth.Scheduler.Placement;

/// <summary>
/// An immutable sorted set of distinct 64-bit keys, each with a second amount ("other"), kept as a list of sorted blocks
/// (64-128 keys). A block knows the largest "other" of its keys, so a search can skip whole blocks in which nothing has
/// enough of the second resource: ordered by remaining memory, the "other" is remaining CPU, and instances whose CPU is
/// exhausted cost one comparison per block instead of one check per instance. An update copies one block and the
/// block table (about n/64 references); successors share all other blocks. Keys pack a resource amount and an instance
/// position (see <see cref="Key"/>), which makes "the least remaining memory that is at least X" a lower-bound search.
/// </summary>
internal sealed class SortedKeyIndex
{
    private const int MaxBlock = 128;
    private const int FillBlock = 64;
    private const int PositionBits = 24;
    private const long PositionMask = (1L << PositionBits) - 1;

    /// <summary>Largest instance position a key can carry.</summary>
    public const int MaxPosition = (int)PositionMask;

    public static readonly SortedKeyIndex Empty = new([], 0);

    private readonly Block[] _blocks;
    private int[]? _starts;

    private SortedKeyIndex(Block[] blocks, int count)
    {
        _blocks = blocks;
        Count = count;
    }

    public int Count { get; }

    /// <summary>Packs an amount (any int, ordered as ints) and an instance position into an ordered key.</summary>
    public static long Key(int amount, int position) => ((long)(uint)(amount ^ int.MinValue) << PositionBits) | (uint)position;

    /// <summary>The instance position of a key.</summary>
    public static int PositionOf(long key) => (int)(key & PositionMask);

    /// <summary>The amount of a key.</summary>
    public static int AmountOf(long key) => (int)((uint)(key >> PositionBits) ^ 0x80000000u);

    /// <summary>Builds an index; sorts both arrays (by key) in place.</summary>
    public static SortedKeyIndex Build(long[] keys, int[] others)
    {
        Array.Sort(keys, others);
        var blocks = new Block[(keys.Length + FillBlock - 1) / FillBlock];
        for (var b = 0; b < blocks.Length; b++)
        {
            var start = b * FillBlock;
            var length = Math.Min(FillBlock, keys.Length - start);
            blocks[b] = new Block(keys.AsSpan(start, length).ToArray(), others.AsSpan(start, length).ToArray());
        }

        return new SortedKeyIndex(blocks, keys.Length);
    }

    /// <summary>
    /// Removes <paramref name="oldKey"/> (which must be present) and adds <paramref name="newKey"/> with its other amount.
    /// </summary>
    public SortedKeyIndex Replace(long? oldKey, long? newKey, int newOther)
    {
        if (oldKey is { } o && newKey is { } n && _blocks.Length > 0)
        {
            // Common case: an amount changes a little and the new key still falls inside the old key's block (between its
            // first and last key), so only that block is copied and the order across blocks is kept.
            var b = FindBlock(o);
            if (b < _blocks.Length && n >= _blocks[b].Keys[0] && n <= _blocks[b].Keys[^1])
            {
                var block = _blocks[b];
                var at = Array.BinarySearch(block.Keys, o);
                if (at < 0)
                {
                    throw new InvalidOperationException("Key to replace is not in the index.");
                }

                var keys = new long[block.Keys.Length];
                var others = new int[keys.Length];
                var j = 0;
                var inserted = false;
                for (var i = 0; i < block.Keys.Length; i++)
                {
                    if (i == at)
                    {
                        continue;
                    }

                    if (!inserted && n < block.Keys[i])
                    {
                        keys[j] = n;
                        others[j++] = newOther;
                        inserted = true;
                    }

                    keys[j] = block.Keys[i];
                    others[j++] = block.Others[i];
                }

                if (!inserted)
                {
                    keys[j] = n;
                    others[j] = newOther;
                }

                var blocks = (Block[])_blocks.Clone();
                blocks[b] = new Block(keys, others);
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
            result = result.AddCore(add, newOther);
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
        return b < _blocks.Length && Array.BinarySearch(_blocks[b].Keys, key) >= 0;
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

        return _blocks[b].Keys[rank - starts[b]];
    }

    /// <summary>Keys ≥ <paramref name="from"/> whose other amount is ≥ <paramref name="minOther"/>, ascending.</summary>
    public AscendingEnumerator From(long from, int minOther = int.MinValue)
    {
        if (_blocks.Length == 0)
        {
            return new AscendingEnumerator(_blocks, 0, -1, minOther);
        }

        var b = FindBlock(from);
        if (b >= _blocks.Length)
        {
            return new AscendingEnumerator(_blocks, _blocks.Length, -1, minOther);
        }

        var i = Array.BinarySearch(_blocks[b].Keys, from);
        return new AscendingEnumerator(_blocks, b, (i < 0 ? ~i : i) - 1, minOther);
    }

    /// <summary>All keys whose other amount is ≥ <paramref name="minOther"/>, descending.</summary>
    public DescendingEnumerator Descending(int minOther = int.MinValue) =>
        _blocks.Length == 0
            ? new DescendingEnumerator(_blocks, -1, 0, minOther)
            : new DescendingEnumerator(_blocks, _blocks.Length - 1, _blocks[^1].Keys.Length, minOther);

    private int[] ComputeStarts()
    {
        var starts = new int[_blocks.Length];
        var total = 0;
        for (var b = 0; b < _blocks.Length; b++)
        {
            starts[b] = total;
            total += _blocks[b].Keys.Length;
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
            if (_blocks[mid].Keys[^1] < key)
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
        var at = b < _blocks.Length ? Array.BinarySearch(_blocks[b].Keys, key) : -1;
        if (at < 0)
        {
            throw new InvalidOperationException("Key to remove is not in the index.");
        }

        var block = _blocks[b];
        if (block.Keys.Length == 1)
        {
            var fewer = new Block[_blocks.Length - 1];
            Array.Copy(_blocks, 0, fewer, 0, b);
            Array.Copy(_blocks, b + 1, fewer, b, _blocks.Length - b - 1);
            return new SortedKeyIndex(fewer, Count - 1);
        }

        var blocks = (Block[])_blocks.Clone();
        blocks[b] = new Block(Without(block.Keys, at), Without(block.Others, at));
        return new SortedKeyIndex(blocks, Count - 1);
    }

    private SortedKeyIndex AddCore(long key, int other)
    {
        if (_blocks.Length == 0)
        {
            return new SortedKeyIndex([new Block([key], [other])], 1);
        }

        var b = Math.Min(FindBlock(key), _blocks.Length - 1);
        var block = _blocks[b];
        var at = Array.BinarySearch(block.Keys, key);
        if (at >= 0)
        {
            throw new InvalidOperationException("Key is already in the index.");
        }

        at = ~at;
        var keys = With(block.Keys, at, key);
        var others = With(block.Others, at, other);
        if (keys.Length <= MaxBlock)
        {
            var blocks = (Block[])_blocks.Clone();
            blocks[b] = new Block(keys, others);
            return new SortedKeyIndex(blocks, Count + 1);
        }

        var half = keys.Length / 2;
        var more = new Block[_blocks.Length + 1];
        Array.Copy(_blocks, 0, more, 0, b);
        more[b] = new Block(keys[..half], others[..half]);
        more[b + 1] = new Block(keys[half..], others[half..]);
        Array.Copy(_blocks, b + 1, more, b + 2, _blocks.Length - b - 1);
        return new SortedKeyIndex(more, Count + 1);
    }

    private static T[] Without<T>(T[] items, int at)
    {
        var copy = new T[items.Length - 1];
        Array.Copy(items, 0, copy, 0, at);
        Array.Copy(items, at + 1, copy, at, items.Length - at - 1);
        return copy;
    }

    private static T[] With<T>(T[] items, int at, T item)
    {
        var copy = new T[items.Length + 1];
        Array.Copy(items, 0, copy, 0, at);
        copy[at] = item;
        Array.Copy(items, at, copy, at + 1, items.Length - at);
        return copy;
    }

    internal sealed class Block
    {
        public Block(long[] keys, int[] others)
        {
            Keys = keys;
            Others = others;
            var max = int.MinValue;
            foreach (var other in others)
            {
                max = Math.Max(max, other);
            }

            MaxOther = max;
        }

        public long[] Keys { get; }

        public int[] Others { get; }

        public int MaxOther { get; }
    }

    /// <summary>Ascending cursor; a struct so that a search allocates nothing.</summary>
    public struct AscendingEnumerator
    {
        private readonly Block[] _blocks;
        private readonly int _minOther;
        private int _block;
        private int _index;

        internal AscendingEnumerator(Block[] blocks, int block, int index, int minOther)
        {
            _blocks = blocks;
            _block = block;
            _index = index;
            _minOther = minOther;
        }

        public readonly long Current => _blocks[_block].Keys[_index];

        public bool MoveNext()
        {
            while (_block < _blocks.Length)
            {
                var block = _blocks[_block];
                if (block.MaxOther >= _minOther)
                {
                    while (++_index < block.Keys.Length)
                    {
                        if (block.Others[_index] >= _minOther)
                        {
                            return true;
                        }
                    }
                }

                _block++;
                _index = -1;
            }

            return false;
        }
    }

    /// <summary>Descending cursor.</summary>
    public struct DescendingEnumerator
    {
        private readonly Block[] _blocks;
        private readonly int _minOther;
        private int _block;
        private int _index;

        internal DescendingEnumerator(Block[] blocks, int block, int index, int minOther)
        {
            _blocks = blocks;
            _block = block;
            _index = index;
            _minOther = minOther;
        }

        public readonly long Current => _blocks[_block].Keys[_index];

        public bool MoveNext()
        {
            while (_block >= 0)
            {
                var block = _blocks[_block];
                if (block.MaxOther >= _minOther)
                {
                    while (--_index >= 0)
                    {
                        if (block.Others[_index] >= _minOther)
                        {
                            return true;
                        }
                    }
                }

                if (--_block >= 0)
                {
                    _index = _blocks[_block].Keys.Length;
                }
            }

            return false;
        }
    }
}
