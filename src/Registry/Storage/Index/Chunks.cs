namespace Berth.Registry.Storage.Index;

/// <summary>
/// A growable array of fixed-size records kept in chunks of <see cref="ChunkSize"/> records, so that growing never
/// copies what is stored (no doubling spike at a million entries) and no single array gets huge. Written only by
/// the index's single writer; readers go through <see cref="ManifestIndex"/>'s sequence check, so a reader that
/// races a growth may see an index out of range, which the check turns into a retry.
/// </summary>
internal sealed class Chunks<T>(int stride)
    where T : unmanaged
{
    public const int ChunkBits = 14;
    public const int ChunkSize = 1 << ChunkBits;
    private const int Mask = ChunkSize - 1;

    private T[][] _chunks = [];

    public int Stride { get; } = stride;

    public int Capacity => _chunks.Length * ChunkSize;

    public long Bytes => (long)_chunks.Length * ChunkSize * Stride * System.Runtime.CompilerServices.Unsafe.SizeOf<T>();

    public ref T this[int record] => ref _chunks[record >> ChunkBits][(record & Mask) * Stride];

    public Span<T> Record(int record) => _chunks[record >> ChunkBits].AsSpan((record & Mask) * Stride, Stride);

    /// <summary>Writer only: makes room for records up to <paramref name="record"/>.</summary>
    public void EnsureCapacity(int record)
    {
        var needed = (record >> ChunkBits) + 1;
        if (needed <= _chunks.Length)
        {
            return;
        }

        var chunks = new T[needed][];
        _chunks.CopyTo(chunks, 0);
        for (var i = _chunks.Length; i < needed; i++)
        {
            chunks[i] = new T[ChunkSize * Stride];
        }

        _chunks = chunks;
    }
}
