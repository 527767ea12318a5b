using System.Buffers.Binary;
using System.Numerics;

namespace Berth.Registry.Storage.Index;

/// <summary>
/// (repository id, digest) -> size and media type, for the digests of one algorithm: the raw hash bytes (32 for
/// sha256), repository id, size and media-type number in separate chunked columns, 41 bytes per sha256 manifest
/// plus ~8 of open-addressing buckets. Single writer; readers are validated by <see cref="ManifestIndex"/>.
/// </summary>
internal sealed class ManifestTable(int hashLength)
{
    private const int Tombstone = -1;

    private readonly Chunks<byte> _hashes = new(hashLength);
    private readonly Chunks<int> _repositories = new(1);
    private readonly Chunks<int> _sizes = new(1);
    private readonly Chunks<byte> _types = new(1);
    private readonly Stack<int> _freeSlots = new();

    // Digests are SHA output, but a pusher can grind for digests that share low bits: the bucket comes from the
    // first 8 bytes through a per-process random odd multiplier, so nobody outside can aim at one bucket.
    private readonly ulong _multiplier = (ulong)Random.Shared.NextInt64() | 1;
    private int[] _buckets = new int[16];
    private int _slots;
    private int _tombstones;

    public int HashLength { get; } = hashLength;

    public int Count { get; private set; }

    public long Bytes => _hashes.Bytes + _repositories.Bytes + _sizes.Bytes + _types.Bytes + ((long)_buckets.Length * sizeof(int));

    /// <summary>Reader: the slot of (repository, hash), or -1.</summary>
    public int Find(int repository, ReadOnlySpan<byte> hash)
    {
        var buckets = _buckets;
        var mask = buckets.Length - 1;
        var bucket = Bucket(repository, hash, mask);
        for (var probes = 0; probes < buckets.Length; probes++, bucket = (bucket + 1) & mask)
        {
            var entry = buckets[bucket];
            if (entry == 0)
            {
                return -1;
            }

            if (entry != Tombstone && _repositories[entry - 1] == repository && _hashes.Record(entry - 1).SequenceEqual(hash))
            {
                return entry - 1;
            }
        }

        return -1;
    }

    public int RepositoryOf(int slot) => _repositories[slot];

    public int SizeOf(int slot) => _sizes[slot];

    public byte TypeOf(int slot) => _types[slot];

    public ReadOnlySpan<byte> HashOf(int slot) => _hashes.Record(slot);

    /// <summary>Writer: adds (repository, hash), or returns the slot it already has.</summary>
    public int Add(int repository, ReadOnlySpan<byte> hash, int size, byte type)
    {
        var existing = Find(repository, hash);
        if (existing >= 0)
        {
            return existing;
        }

        if ((Count + _tombstones + 1) * 4 > _buckets.Length * 3)
        {
            Rehash(Math.Max(16, (int)BitOperations.RoundUpToPowerOf2((uint)(Count + 1) * 2)));
        }

        var slot = _freeSlots.Count > 0 ? _freeSlots.Pop() : _slots++;
        _hashes.EnsureCapacity(slot);
        _repositories.EnsureCapacity(slot);
        _sizes.EnsureCapacity(slot);
        _types.EnsureCapacity(slot);
        hash.CopyTo(_hashes.Record(slot));
        _repositories[slot] = repository;
        _sizes[slot] = size;
        _types[slot] = type;
        Place(slot);
        Count++;
        return slot;
    }

    /// <summary>Writer: room for <paramref name="count"/> more manifests without a rehash (see <see cref="NameTable.Reserve"/>).</summary>
    public void Reserve(int count)
    {
        var size = NameTable.BucketsFor(Count + _tombstones + count);
        if (size > _buckets.Length)
        {
            Rehash(size);
        }
    }

    /// <summary>Writer: removes (repository, hash); returns its former slot or -1.</summary>
    public int Remove(int repository, ReadOnlySpan<byte> hash)
    {
        var mask = _buckets.Length - 1;
        var bucket = Bucket(repository, hash, mask);
        for (var probes = 0; probes < _buckets.Length; probes++, bucket = (bucket + 1) & mask)
        {
            var entry = _buckets[bucket];
            if (entry == 0)
            {
                return -1;
            }

            if (entry != Tombstone && _repositories[entry - 1] == repository && _hashes.Record(entry - 1).SequenceEqual(hash))
            {
                var slot = entry - 1;
                _buckets[bucket] = Tombstone;
                _tombstones++;
                _repositories[slot] = 0;
                _freeSlots.Push(slot);
                Count--;
                return slot;
            }
        }

        return -1;
    }

    private void Place(int slot)
    {
        var mask = _buckets.Length - 1;
        var bucket = Bucket(_repositories[slot], _hashes.Record(slot), mask);
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
        foreach (var entry in old)
        {
            if (entry > 0)
            {
                Place(entry - 1);
            }
        }
    }

    private int Bucket(int repository, ReadOnlySpan<byte> hash, int mask)
    {
        var mixed = (BinaryPrimitives.ReadUInt64LittleEndian(hash) ^ (uint)repository) * _multiplier;
        return (int)(mixed >> 32) & mask;
    }
}
