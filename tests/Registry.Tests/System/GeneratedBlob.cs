using System.Buffers.Binary;
using System.Net;
using System.Security.Cryptography;

namespace Berth.Registry.Tests.SystemTests;

/// <summary>
/// A large blob that is never held in memory: 1 MiB blocks of random bytes, each stamped with its index and the
/// blob's seed, so any byte range can be regenerated (to resume an upload) and every block differs.
/// </summary>
public sealed class GeneratedBlob
{
    private const int BlockSize = 1 << 20;
    private readonly byte[] _block;
    private readonly int _seed;

    public GeneratedBlob(long length, int seed)
    {
        Length = length;
        _seed = seed;
        _block = new byte[BlockSize];
        new Random(seed).NextBytes(_block);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[BlockSize];
        for (long offset = 0; offset < length; offset += BlockSize)
        {
            var count = (int)Math.Min(BlockSize, length - offset);
            Fill(buffer, offset / BlockSize);
            hash.AppendData(buffer, 0, count);
        }

        Digest = "sha256:" + Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>The blob's size in bytes.</summary>
    public long Length { get; }

    /// <summary>The blob's sha256 digest.</summary>
    public string Digest { get; }

    /// <summary>
    /// An HTTP body with bytes <paramref name="from"/> to the end. With <paramref name="knownLength"/> false it goes out
    /// with chunked transfer encoding, as dockerd streams a layer.
    /// </summary>
    public Content Body(long from = 0, bool knownLength = true) => new(this, from, knownLength);

    private void Fill(Span<byte> buffer, long blockIndex)
    {
        _block.CopyTo(buffer);
        BinaryPrimitives.WriteInt64LittleEndian(buffer, blockIndex);
        BinaryPrimitives.WriteInt32LittleEndian(buffer[8..], _seed);
    }

    /// <summary>A body that can stop at a chosen byte until the test has done something (killed the server).</summary>
    public sealed class Content(GeneratedBlob blob, long from, bool knownLength) : HttpContent
    {
        private readonly TaskCompletionSource _paused = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _resume = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _written = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private long _pauseAt = -1;

        /// <summary>Completes when the body has written <see cref="PauseAfter"/>'s byte count and waits.</summary>
        public Task Paused => _paused.Task;

        /// <summary>Completes when the last byte has been handed to the connection.</summary>
        public Task Written => _written.Task;

        /// <summary>Makes the body stop after <paramref name="bytes"/> bytes until <see cref="Resume"/>.</summary>
        public Content PauseAfter(long bytes)
        {
            _pauseAt = bytes;
            return this;
        }

        /// <summary>Lets a paused body go on writing.</summary>
        public void Resume() => _resume.TrySetResult();

        /// <inheritdoc />
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
            await SerializeToStreamAsync(stream, context, CancellationToken.None);

        /// <inheritdoc />
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            var buffer = new byte[BlockSize];
            long sent = 0;
            var position = from;
            while (position < blob.Length)
            {
                var block = position / BlockSize;
                var within = (int)(position % BlockSize);
                var count = (int)Math.Min(BlockSize - within, blob.Length - position);
                if (_pauseAt >= 0 && sent < _pauseAt && sent + count > _pauseAt)
                {
                    count = (int)(_pauseAt - sent);
                }

                blob.Fill(buffer, block);
                await stream.WriteAsync(buffer.AsMemory(within, count), cancellationToken);
                sent += count;
                position += count;
                if (sent == _pauseAt)
                {
                    await stream.FlushAsync(cancellationToken);
                    _paused.TrySetResult();
                    await _resume.Task.WaitAsync(cancellationToken);
                }
            }

            await stream.FlushAsync(cancellationToken);
            _written.TrySetResult();
        }

        /// <inheritdoc />
        protected override bool TryComputeLength(out long length)
        {
            length = blob.Length - from;
            return knownLength;
        }
    }
}
