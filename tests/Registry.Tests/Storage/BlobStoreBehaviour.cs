using System.IO.Pipelines;
using System.Security.Cryptography;
using Berth.Core.Images;
using Berth.Registry.Storage;

namespace Berth.Registry.Tests.Storage;

/// <summary>
/// What every <see cref="IBlobStore"/> must do (distribution's storage/driver/testsuites idea): each implementation
/// derives from this class and inherits every test. The filesystem store runs it now; an object store will.
/// </summary>
public abstract class BlobStoreBehaviour : IAsyncLifetime
{
    private IBlobStore? _store;

    private protected IBlobStore Store => _store ?? throw new InvalidOperationException("not initialized");

    public async Task InitializeAsync()
    {
        _store = CreateStore();
        await _store.InitializeAsync(CancellationToken.None);
    }

    public virtual Task DisposeAsync() => Task.CompletedTask;

    private protected abstract IBlobStore CreateStore();

    [Fact]
    public async Task AnUpload_AppendedInChunks_AndCommitted_IsTheBlob()
    {
        var content = RandomNumberGenerator.GetBytes(300_000);
        var id = NewId();
        await Store.CreateUploadAsync(id, CancellationToken.None);
        var cursor = new UploadCursor(Digest.Sha256);
        await Store.AppendAsync(id, cursor, Pipe(content[..100_000]), CancellationToken.None);
        await Store.AppendAsync(id, cursor, Pipe(content[100_000..]), CancellationToken.None);

        Assert.Equal(content.Length, cursor.Offset);
        Assert.Equal(SHA256.HashData(content), cursor.Hash.GetCurrentHash());
        Assert.Equal(content.Length, (await Store.GetUploadAsync(id, CancellationToken.None))?.Length);

        var digest = Digest.Compute(content);
        await Store.CommitAsync(id, cursor.Offset, digest, CancellationToken.None);

        Assert.Equal(content, await ReadAsync(digest));
        Assert.Null(await Store.GetUploadAsync(id, CancellationToken.None));
    }

    [Fact]
    public async Task AnUnknownUpload_HasNoStatus_AndDeletingIt_IsHarmless()
    {
        var id = NewId();
        Assert.Null(await Store.GetUploadAsync(id, CancellationToken.None));
        await Store.DeleteUploadAsync(id, CancellationToken.None);
        Assert.Null(await Store.GetUploadAsync(id, CancellationToken.None));
    }

    [Fact]
    public async Task ANewUpload_IsEmpty_AndDated()
    {
        var before = DateTimeOffset.UtcNow.AddMinutes(-1);
        var id = NewId();
        await Store.CreateUploadAsync(id, CancellationToken.None);

        var status = await Store.GetUploadAsync(id, CancellationToken.None);

        Assert.NotNull(status);
        Assert.Equal(0, status.Length);
        Assert.True(status.LastWrite > before, $"last write {status.LastWrite}");
    }

    [Fact]
    public async Task Rehash_RebuildsTheCursor_FromTheStoredBytes()
    {
        var content = RandomNumberGenerator.GetBytes(70_000);
        var id = NewId();
        await Store.CreateUploadAsync(id, CancellationToken.None);
        await Store.AppendAsync(id, new UploadCursor(Digest.Sha256), Pipe(content), CancellationToken.None);

        // After a restart the hash is gone; sha512 when the client names it only at the end.
        var rebuilt = new UploadCursor(Digest.Sha512);
        await Store.RehashAsync(id, rebuilt, CancellationToken.None);

        Assert.Equal(content.Length, rebuilt.Offset);
        Assert.Equal(SHA512.HashData(content), rebuilt.Hash.GetCurrentHash());
    }

    [Fact]
    public async Task Commit_KeepsExactlyTheHashedLength()
    {
        // A write that failed half-way may have stored bytes beyond what the cursor hashed.
        var content = RandomNumberGenerator.GetBytes(5_000);
        var id = NewId();
        await Store.CreateUploadAsync(id, CancellationToken.None);
        await Store.AppendAsync(id, new UploadCursor(Digest.Sha256), Pipe(content), CancellationToken.None);

        var digest = Digest.Compute(content.AsSpan(0, 3_000));
        await Store.CommitAsync(id, 3_000, digest, CancellationToken.None);

        Assert.Equal(content[..3_000], await ReadAsync(digest));
    }

    [Fact]
    public async Task Committing_ADigestAlreadyStored_KeepsTheBlob_AndEndsTheUpload()
    {
        var content = RandomNumberGenerator.GetBytes(1_000);
        var digest = Digest.Compute(content);
        await UploadAsync(content);

        var second = NewId();
        await Store.CreateUploadAsync(second, CancellationToken.None);
        await Store.AppendAsync(second, new UploadCursor(Digest.Sha256), Pipe(content), CancellationToken.None);
        await Store.CommitAsync(second, content.Length, digest, CancellationToken.None);

        Assert.Equal(content, await ReadAsync(digest));
        Assert.Null(await Store.GetUploadAsync(second, CancellationToken.None));
    }

    [Fact]
    public async Task DeletingABlob_RemovesItsBytes_KeepsAnOpenReaderWhole_AndIsHarmlessTwice()
    {
        var content = RandomNumberGenerator.GetBytes(50_000);
        var digest = Digest.Compute(content);
        await UploadAsync(content);
        await using var reader = await Store.OpenReadAsync(digest.ToString(), CancellationToken.None);

        await Store.DeleteBlobAsync(digest.ToString(), CancellationToken.None);
        await Store.DeleteBlobAsync(digest.ToString(), CancellationToken.None);
        using var rest = new MemoryStream();
        await reader!.CopyToAsync(rest);

        Assert.Null(await Store.OpenReadAsync(digest.ToString(), CancellationToken.None));
        Assert.Equal(content, rest.ToArray());
    }

    [Fact]
    public async Task CommittingAgain_AnUploadAlreadyCommitted_Succeeds()
    {
        // The registry commits the bytes, then writes the metadata; when that write fails the client retries the PUT.
        var content = RandomNumberGenerator.GetBytes(2_000);
        var digest = Digest.Compute(content);
        var id = await UploadAsync(content);

        await Store.CommitAsync(id, content.Length, digest, CancellationToken.None);

        Assert.Equal(content, await ReadAsync(digest));
    }

    [Fact]
    public async Task DeletingAnUpload_RemovesItsBytes_AndLeavesOthersAlone()
    {
        var kept = NewId();
        var deleted = NewId();
        await Store.CreateUploadAsync(kept, CancellationToken.None);
        await Store.CreateUploadAsync(deleted, CancellationToken.None);
        var keptCursor = new UploadCursor(Digest.Sha256);
        await Store.AppendAsync(kept, keptCursor, Pipe(new byte[10]), CancellationToken.None);
        await Store.AppendAsync(deleted, new UploadCursor(Digest.Sha256), Pipe(new byte[20]), CancellationToken.None);

        await Store.DeleteUploadAsync(deleted, CancellationToken.None);

        Assert.Null(await Store.GetUploadAsync(deleted, CancellationToken.None));
        Assert.Equal(10, (await Store.GetUploadAsync(kept, CancellationToken.None))?.Length);
    }

    [Fact]
    public async Task AnUnknownBlob_CannotBeOpened()
    {
        Assert.Null(await Store.OpenReadAsync(Digest.Compute(RandomNumberGenerator.GetBytes(8)).ToString(), CancellationToken.None));
    }

    [Fact]
    public async Task Sha512Blobs_AreStoredUnderTheirOwnDigest()
    {
        var content = RandomNumberGenerator.GetBytes(4_000);
        var id = NewId();
        await Store.CreateUploadAsync(id, CancellationToken.None);
        var cursor = new UploadCursor(Digest.Sha512);
        await Store.AppendAsync(id, cursor, Pipe(content), CancellationToken.None);
        var digest = Digest.Compute(content, Digest.Sha512);
        await Store.CommitAsync(id, cursor.Offset, digest, CancellationToken.None);

        Assert.Equal(content, await ReadAsync(digest));
        Assert.Null(await Store.OpenReadAsync(Digest.Compute(content).ToString(), CancellationToken.None));
    }

    private protected static string NewId() => Guid.NewGuid().ToString("N");

    private static PipeReader Pipe(byte[] content) => PipeReader.Create(new MemoryStream(content));

    private async Task<string> UploadAsync(byte[] content)
    {
        var id = NewId();
        await Store.CreateUploadAsync(id, CancellationToken.None);
        var cursor = new UploadCursor(Digest.Sha256);
        await Store.AppendAsync(id, cursor, Pipe(content), CancellationToken.None);
        await Store.CommitAsync(id, cursor.Offset, Digest.Compute(content), CancellationToken.None);
        return id;
    }

    private async Task<byte[]> ReadAsync(Digest digest)
    {
        await using var stream = await Store.OpenReadAsync(digest.ToString(), CancellationToken.None);
        Assert.NotNull(stream);
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        return copy.ToArray();
    }
}
