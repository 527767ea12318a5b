using System.Buffers.Binary;
using System.Net;
using System.Security.Cryptography;

namespace Berth.Bench.RegistryLoad;

/// <summary>
/// Distinct blobs without per-blob memory: blob <c>i</c> of a size is the shared random pool's first
/// <c>size - 16</c> bytes followed by a 16-byte suffix unique to the run and <c>i</c>. The pool's hash state is
/// computed once per size and cloned, so preparing a blob costs a clone and 16 bytes of hashing, and sending one
/// copies nothing: bodies are slices of the pool.
/// </summary>
internal sealed class BlobSource
{
    public const int SuffixLength = 16;
    private static readonly byte[] s_pool = RandomNumberGenerator.GetBytes(100 << 20);
    private static readonly long s_runId = BitConverter.ToInt64(RandomNumberGenerator.GetBytes(8));
    private static long s_next;
    private readonly IncrementalHash _prefixHash;

    public BlobSource(int size)
    {
        if (size <= SuffixLength || size > s_pool.Length + SuffixLength)
        {
            throw new ArgumentOutOfRangeException(nameof(size), $"blob sizes are {SuffixLength + 1} bytes to {s_pool.Length >> 20} MiB");
        }

        Size = size;
        _prefixHash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        _prefixHash.AppendData(s_pool, 0, size - SuffixLength);
    }

    public int Size { get; }

    /// <summary>A new blob, different from every other this process made.</summary>
    public Blob Next()
    {
        var suffix = new byte[SuffixLength];
        BinaryPrimitives.WriteInt64LittleEndian(suffix, s_runId);
        BinaryPrimitives.WriteInt64LittleEndian(suffix.AsSpan(8), Interlocked.Increment(ref s_next));
        IncrementalHash hash;
        lock (_prefixHash)
        {
            // Clone reads the shared state; IncrementalHash refuses concurrent use even for that.
            hash = _prefixHash.Clone();
        }

        using var _ = hash;
        hash.AppendData(suffix);
        var digest = "sha256:" + Convert.ToHexStringLower(hash.GetHashAndReset());
        return new Blob(s_pool.AsMemory(0, Size - SuffixLength), suffix, digest);
    }
}

/// <summary>A blob as two slices (pool prefix and unique suffix) and its digest.</summary>
internal sealed record Blob(ReadOnlyMemory<byte> Prefix, ReadOnlyMemory<byte> Suffix, string Digest)
{
    public long Length => Prefix.Length + Suffix.Length;

    /// <summary>The bytes from <paramref name="offset"/> for <paramref name="count"/>, as at most two slices.</summary>
    public IEnumerable<ReadOnlyMemory<byte>> Slice(long offset, long count)
    {
        var end = offset + count;
        if (offset < Prefix.Length)
        {
            yield return Prefix[(int)offset..(int)Math.Min(end, Prefix.Length)];
        }

        if (end > Prefix.Length)
        {
            var from = (int)Math.Max(0, offset - Prefix.Length);
            yield return Suffix[from..(int)(end - Prefix.Length)];
        }
    }
}

/// <summary>
/// An HTTP body written straight from slices of the pool. Without a known length it goes out with chunked transfer
/// encoding in <c>writeSize</c> pieces, the way a streaming client (dockerd's io.Copy, 32 KiB) sends a layer.
/// </summary>
internal sealed class SlicesContent(IReadOnlyList<ReadOnlyMemory<byte>> slices, bool knownLength, int writeSize) : HttpContent
{
    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        foreach (var slice in slices)
        {
            for (var offset = 0; offset < slice.Length; offset += writeSize)
            {
                await stream.WriteAsync(slice.Slice(offset, Math.Min(writeSize, slice.Length - offset)), cancellationToken);
            }
        }
    }

    protected override bool TryComputeLength(out long length)
    {
        length = slices.Sum(s => (long)s.Length);
        return knownLength;
    }
}
