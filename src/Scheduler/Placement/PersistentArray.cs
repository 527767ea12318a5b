namespace Berth.Scheduler.Placement;

/// <summary>
/// An immutable array split into chunks of 128; <see cref="SetItem"/> copies one chunk and the chunk table, so a
/// successor of a 10,000-element array costs about 1.6 KB instead of 80 KB.
/// </summary>
internal sealed class PersistentArray<T>
{
    private const int Shift = 7;
    private const int ChunkSize = 1 << Shift;
    private const int Mask = ChunkSize - 1;

    private readonly T[][] _chunks;

    private PersistentArray(T[][] chunks, int count)
    {
        _chunks = chunks;
        Count = count;
    }

    public int Count { get; }

    public T this[int index] => _chunks[index >> Shift][index & Mask];

    public static PersistentArray<T> From(IReadOnlyList<T> items)
    {
        var chunks = new T[(items.Count + ChunkSize - 1) / ChunkSize][];
        for (var c = 0; c < chunks.Length; c++)
        {
            var length = Math.Min(ChunkSize, items.Count - (c * ChunkSize));
            var chunk = new T[length];
            for (var i = 0; i < length; i++)
            {
                chunk[i] = items[(c * ChunkSize) + i];
            }

            chunks[c] = chunk;
        }

        return new PersistentArray<T>(chunks, items.Count);
    }

    public PersistentArray<T> SetItem(int index, T value)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)Count, nameof(index));
        var chunks = (T[][])_chunks.Clone();
        var chunk = (T[])chunks[index >> Shift].Clone();
        chunk[index & Mask] = value;
        chunks[index >> Shift] = chunk;
        return new PersistentArray<T>(chunks, Count);
    }
}
