using System.Numerics;
using System.Text;

namespace Berth.Registry.Storage.Index;

/// <summary>
/// (owner, name) -> value, for repository names (owner 0, value = repository id) and tags (owner = repository id,
/// value = manifest reference). Names are ASCII by the distribution grammar (at most 255 characters) and are kept
/// once, length-prefixed, in an arena of 64 KiB chunks: about 13 bytes of entry plus the name per key, against
/// ~150 for a string in a dictionary. Open addressing with linear probing over an int array of slot numbers.
/// Single writer; readers are validated by <see cref="ManifestIndex"/>'s sequence (see there).
/// </summary>
internal sealed class NameTable
{
    private const int ArenaChunkBits = 16;
    private const int ArenaChunkSize = 1 << ArenaChunkBits;
    private const int Tombstone = -1;

    private readonly Chunks<int> _owners = new(1);
    private readonly Chunks<int> _values = new(1);
    private readonly Chunks<int> _names = new(1);
    private readonly Stack<int> _freeSlots = new();
    private readonly Dictionary<int, Stack<int>> _freeNames = [];
    private byte[][] _arena = [];
    private int _arenaUsed = ArenaChunkSize;
    private int[] _buckets = new int[16];
    private int _slots;
    private int _tombstones;

    public int Count { get; private set; }

    public long Bytes => _owners.Bytes + _values.Bytes + _names.Bytes + ((long)_arena.Length * ArenaChunkSize) + ((long)_buckets.Length * sizeof(int));

    /// <summary>Reader: the value of (owner, name), or false.</summary>
    public bool TryGet(int owner, ReadOnlySpan<char> name, out int value)
    {
        value = 0;
        var slot = Find(owner, name);
        if (slot < 0)
        {
            return false;
        }

        value = _values[slot];
        return true;
    }

    /// <summary>Writer: adds or replaces. Returns whether the key was new.</summary>
    public bool Set(int owner, string name, int value)
    {
        // One hash per insert: Find and Place share it (hashing the name is most of an insert's cost).
        var hash = Hash(owner, name);
        var existing = Find(owner, name, hash);
        if (existing >= 0)
        {
            _values[existing] = value;
            return false;
        }

        if (name.Length > byte.MaxValue || !Ascii.IsValid(name))
        {
            throw new ArgumentException($"'{name}' is not a name the registry grammar allows", nameof(name));
        }

        if ((Count + _tombstones + 1) * 4 > _buckets.Length * 3)
        {
            Rehash(Math.Max(16, (int)BitOperations.RoundUpToPowerOf2((uint)(Count + 1) * 2)));
        }

        var slot = _freeSlots.Count > 0 ? _freeSlots.Pop() : _slots++;
        _owners.EnsureCapacity(slot);
        _values.EnsureCapacity(slot);
        _names.EnsureCapacity(slot);
        _owners[slot] = owner;
        _values[slot] = value;
        _names[slot] = StoreName(name);
        Place(hash, slot);
        Count++;
        return true;
    }

    /// <summary>
    /// Writer: room for <paramref name="count"/> more names without a rehash (the buckets the table would grow to
    /// anyway; nothing when it is big enough).
    /// </summary>
    public void Reserve(int count)
    {
        var size = BucketsFor(Count + _tombstones + count);
        if (size > _buckets.Length)
        {
            Rehash(size);
        }
    }

    /// <summary>Writer: removes (owner, name); returns whether it was there.</summary>
    public bool Remove(int owner, ReadOnlySpan<char> name)
    {
        var mask = _buckets.Length - 1;
        var bucket = Hash(owner, name) & mask;
        for (var probes = 0; probes < _buckets.Length; probes++, bucket = (bucket + 1) & mask)
        {
            var entry = _buckets[bucket];
            if (entry == 0)
            {
                return false;
            }

            if (entry != Tombstone && Matches(entry - 1, owner, name))
            {
                var slot = entry - 1;
                _buckets[bucket] = Tombstone;
                _tombstones++;
                FreeName(_names[slot]);
                _owners[slot] = 0;
                _freeSlots.Push(slot);
                Count--;
                return true;
            }
        }

        return false;
    }

    private int Find(int owner, ReadOnlySpan<char> name) => Find(owner, name, Hash(owner, name));

    private int Find(int owner, ReadOnlySpan<char> name, int hash)
    {
        var buckets = _buckets;
        var mask = buckets.Length - 1;
        var bucket = hash & mask;
        for (var probes = 0; probes < buckets.Length; probes++, bucket = (bucket + 1) & mask)
        {
            var entry = buckets[bucket];
            if (entry == 0)
            {
                return -1;
            }

            if (entry != Tombstone && Matches(entry - 1, owner, name))
            {
                return entry - 1;
            }
        }

        return -1;
    }

    private bool Matches(int slot, int owner, ReadOnlySpan<char> name)
    {
        if (_owners[slot] != owner)
        {
            return false;
        }

        var stored = Name(_names[slot]);
        if (stored.Length != name.Length)
        {
            return false;
        }

        for (var i = 0; i < stored.Length; i++)
        {
            if (stored[i] != name[i])
            {
                return false;
            }
        }

        return true;
    }

    private ReadOnlySpan<byte> Name(int reference)
    {
        var chunk = _arena[reference >>> ArenaChunkBits];
        var offset = reference & (ArenaChunkSize - 1);
        return chunk.AsSpan(offset + 1, chunk[offset]);
    }

    private int StoreName(string name)
    {
        int reference;
        if (_freeNames.TryGetValue(name.Length, out var free) && free.Count > 0)
        {
            reference = free.Pop();
        }
        else
        {
            if (_arenaUsed + name.Length + 1 > ArenaChunkSize)
            {
                var arena = new byte[_arena.Length + 1][];
                _arena.CopyTo(arena, 0);
                arena[^1] = new byte[ArenaChunkSize];
                _arena = arena;
                _arenaUsed = 0;
            }

            reference = ((_arena.Length - 1) << ArenaChunkBits) | _arenaUsed;
            _arenaUsed += name.Length + 1;
        }

        var chunk = _arena[reference >>> ArenaChunkBits];
        var offset = reference & (ArenaChunkSize - 1);
        chunk[offset] = (byte)name.Length;
        Encoding.ASCII.GetBytes(name, chunk.AsSpan(offset + 1, name.Length));
        return reference;
    }

    // Space of removed names is reused by names of the same length (tags of one scheme mostly share a length).
    private void FreeName(int reference)
    {
        var length = _arena[reference >>> ArenaChunkBits][reference & (ArenaChunkSize - 1)];
        if (!_freeNames.TryGetValue(length, out var free))
        {
            _freeNames[length] = free = new Stack<int>();
        }

        free.Push(reference);
    }

    private void Place(int hash, int slot)
    {
        var mask = _buckets.Length - 1;
        var bucket = hash & mask;
        while (_buckets[bucket] > 0)
        {
            bucket = (bucket + 1) & mask;
        }

        if (_buckets[bucket] == Tombstone)
        {
            _tombstones--;
        }

        _buckets[bucket] = slot + 1;
    }

    private void Rehash(int size)
    {
        var old = _buckets;
        _buckets = new int[size];
        _tombstones = 0;
        Span<char> name = stackalloc char[byte.MaxValue];
        foreach (var entry in old)
        {
            if (entry > 0)
            {
                var slot = entry - 1;
                var stored = Name(_names[slot]);
                var length = Encoding.ASCII.GetChars(stored, name);
                Place(Hash(_owners[slot], name[..length]), slot);
            }
        }
    }

    // The fewest power-of-two buckets that keep `entries` under the 3/4 load factor Set grows at.
    internal static int BucketsFor(int entries) => Math.Max(16, (int)BitOperations.RoundUpToPowerOf2((uint)(((long)entries + 1) * 4 / 3) + 1));

    // Marvin and HashCode are seeded per process: names come from clients, who must not be able to aim at a bucket.
    private static int Hash(int owner, ReadOnlySpan<char> name) =>
        HashCode.Combine(string.GetHashCode(name), owner) & int.MaxValue;
}
