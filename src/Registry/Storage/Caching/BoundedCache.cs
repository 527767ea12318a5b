using System.Collections.Concurrent;

namespace Berth.Registry.Storage.Caching;

/// <summary>
/// A cache of at most <c>capacity</c> units of cost (bytes, or entries), keyed by strings and looked up by spans of
/// the request path without allocating. Approximately least-recently-used: a hit stamps the entry with the current
/// millisecond (no shared counter for the cores to fight over); when an insert takes the total over the capacity, the
/// inserter drops the least recently used entries down to three quarters of it in one pass, so eviction costs O(1)
/// per insert amortized and a hit never takes a lock.
/// </summary>
internal sealed class BoundedCache<TValue>
    where TValue : class
{
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Entry>.AlternateLookup<ReadOnlySpan<char>> _bySpan;
    private readonly Func<TValue, long> _costOf;
    private readonly Lock _evicting = new();
    private long _cost;

    public BoundedCache(long capacity, Func<TValue, long> costOf)
    {
        Capacity = capacity;
        _costOf = costOf;
        _bySpan = _entries.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public long Capacity { get; }

    public long Cost => Volatile.Read(ref _cost);

    public int Count => _entries.Count;

    public bool TryGet(ReadOnlySpan<char> key, out TValue value)
    {
        if (_bySpan.TryGetValue(key, out var entry))
        {
            var now = Environment.TickCount64;
            if (entry.LastUsed != now)
            {
                entry.LastUsed = now;
            }

            value = entry.Value;
            return true;
        }

        value = null!;
        return false;
    }

    /// <summary>Adds or replaces <paramref name="key"/>. A value costing more than the whole capacity is not kept.</summary>
    public void Set(string key, TValue value)
    {
        var entry = new Entry(value, _costOf(value)) { LastUsed = Environment.TickCount64 };
        if (entry.Cost > Capacity)
        {
            Remove(key);
            return;
        }

        _entries.AddOrUpdate(
            key,
            static (_, added) => added,
            (_, old, added) =>
            {
                Interlocked.Add(ref _cost, -old.Cost);
                return added;
            },
            entry);
        if (Interlocked.Add(ref _cost, entry.Cost) > Capacity)
        {
            Evict();
        }
    }

    public void Remove(string key)
    {
        if (_entries.TryRemove(key, out var removed))
        {
            Interlocked.Add(ref _cost, -removed.Cost);
        }
    }

    private void Evict()
    {
        lock (_evicting)
        {
            if (Cost <= Capacity)
            {
                return;
            }

            var entries = _entries.ToArray();
            Array.Sort(entries, static (a, b) => a.Value.LastUsed.CompareTo(b.Value.LastUsed));
            var target = Capacity / 4 * 3;
            foreach (var (key, entry) in entries)
            {
                if (Cost <= target)
                {
                    break;
                }

                // Only this exact entry: a newer value set meanwhile stays.
                if (_entries.TryRemove(new KeyValuePair<string, Entry>(key, entry)))
                {
                    Interlocked.Add(ref _cost, -entry.Cost);
                }
            }
        }
    }

    private sealed class Entry(TValue value, long cost)
    {
        public TValue Value { get; } = value;

        public long Cost { get; } = cost;

        public long LastUsed { get; set; }
    }
}
