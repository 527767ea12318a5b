using System.Security.Cryptography;
using System.Text;
using Berth.Core.Images;
using Berth.Registry.Storage;

namespace Berth.Registry.Tests.Storage;

/// <summary>
/// What every <see cref="IMetadataStore"/> must do: each implementation derives from this class and inherits every
/// test (distribution's storage/driver/testsuites idea). SQLite runs it now; PostgreSQL will.
/// </summary>
public abstract class MetadataStoreBehaviour : IAsyncLifetime
{
    private readonly List<IMetadataStore> _opened = [];
    private IMetadataStore? _store;

    private protected IMetadataStore Store => _store ?? throw new InvalidOperationException("not initialized");

    public async Task InitializeAsync() => _store = await OpenAsync();

    public virtual Task DisposeAsync()
    {
        foreach (var store in _opened)
        {
            (store as IDisposable)?.Dispose();
        }

        return Task.CompletedTask;
    }

    /// <summary>A store on the same data as every other one this test opened (a restart).</summary>
    private protected abstract IMetadataStore CreateStore();

    private protected async Task<IMetadataStore> OpenAsync()
    {
        var store = CreateStore();
        _opened.Add(store);
        await store.InitializeAsync(CancellationToken.None);
        return store;
    }

    [Fact]
    public async Task LinkingABlob_CreatesTheRepository_AndMakesTheBlobReadableThereOnly()
    {
        var digest = NewDigest();
        var id = await Store.LinkBlobAsync("team/app", digest, 1234, null, CancellationToken.None);
        var other = await Store.LinkBlobAsync("team/other", NewDigest(), 1, null, CancellationToken.None);

        Assert.True(id > 0);
        Assert.NotEqual(id, other);
        Assert.Equal(id, await Store.LinkBlobAsync("team/app", digest, 1234, null, CancellationToken.None));
        Assert.Equal(1234, await Store.GetLinkedBlobSizeAsync(id, digest, CancellationToken.None));
        Assert.Null(await Store.GetLinkedBlobSizeAsync(other, digest, CancellationToken.None));
        Assert.Equal(["team/app", "team/other"], await Store.ListRepositoriesAsync(null, 10, CancellationToken.None));
    }

    [Fact]
    public async Task UnlinkingABlob_AffectsThatRepositoryOnly()
    {
        var digest = NewDigest();
        var a = await Store.LinkBlobAsync("unlink/a", digest, 10, null, CancellationToken.None);
        var b = await Store.LinkBlobAsync("unlink/b", digest, 10, null, CancellationToken.None);

        Assert.True(await Store.UnlinkBlobAsync("unlink/a", digest, CancellationToken.None));
        Assert.False(await Store.UnlinkBlobAsync("unlink/a", digest, CancellationToken.None));
        Assert.False(await Store.UnlinkBlobAsync("unlink/never", digest, CancellationToken.None));

        Assert.Null(await Store.GetLinkedBlobSizeAsync(a, digest, CancellationToken.None));
        Assert.Equal(10, await Store.GetLinkedBlobSizeAsync(b, digest, CancellationToken.None));
        Assert.Equal(["unlink/b"], await Store.ListRepositoriesLinkingAsync(digest, 10, CancellationToken.None));
    }

    [Fact]
    public async Task LinkedBlobSizes_AndRepositoriesLinking_AnswerForWhatIsLinked()
    {
        var (one, two, missing) = (NewDigest(), NewDigest(), NewDigest());
        await Store.LinkBlobAsync("sizes/x", one, 1, null, CancellationToken.None);
        await Store.LinkBlobAsync("sizes/x", two, 2, null, CancellationToken.None);
        await Store.LinkBlobAsync("sizes/c", one, 1, null, CancellationToken.None);
        await Store.LinkBlobAsync("sizes/a", one, 1, null, CancellationToken.None);

        var sizes = await Store.GetLinkedBlobSizesAsync("sizes/x", [one, two, missing], CancellationToken.None);

        Assert.Equal(new Dictionary<string, long> { [one] = 1, [two] = 2 }, sizes);
        Assert.Empty(await Store.GetLinkedBlobSizesAsync("sizes/never", [one], CancellationToken.None));
        Assert.Equal(["sizes/a", "sizes/c"], await Store.ListRepositoriesLinkingAsync(one, 2, CancellationToken.None));
    }

    [Fact]
    public async Task UploadRecords_AreListed_UntilDeletedOrEndedByTheirBlob()
    {
        var created = new DateTime(2026, 12, 1, 10, 0, 0, DateTimeKind.Utc);
        var resumable = new UploadRecord(Guid.NewGuid().ToString("N"), "up/a", Digest.Sha256, created);
        var monolithic = new UploadRecord(Guid.NewGuid().ToString("N"), "up/b", Digest.Sha512, created, Monolithic: true);
        var committed = new UploadRecord(Guid.NewGuid().ToString("N"), "up/c", Digest.Sha256, created);
        foreach (var upload in new[] { resumable, monolithic, committed })
        {
            await Store.CreateUploadAsync(upload, CancellationToken.None);
        }

        Assert.Equal(
            new[] { resumable, monolithic, committed }.OrderBy(u => u.Id),
            (await Store.ListUploadsAsync(CancellationToken.None)).OrderBy(u => u.Id));

        await Store.DeleteUploadAsync(resumable.Id, CancellationToken.None);
        await Store.LinkBlobAsync("up/c", NewDigest(), 5, committed.Id, CancellationToken.None);

        Assert.Equal([monolithic], await Store.ListUploadsAsync(CancellationToken.None));
    }

    [Fact]
    public async Task AManifest_IsStoredWithItsTags_AndItsBodyIsReadBack()
    {
        var manifest = NewManifest();
        var stored = await Store.PutManifestAsync("m/app", manifest, ["v1", "latest"], CancellationToken.None);

        Assert.Equal(manifest.Digest, stored.Digest);
        Assert.Equal(manifest.MediaType, stored.MediaType);
        Assert.Equal(manifest.Content.Length, stored.Size);
        Assert.Equal(manifest.Content, await Store.GetManifestContentAsync(stored.RepositoryId, manifest.Digest, CancellationToken.None));
        Assert.Null(await Store.GetManifestContentAsync(stored.RepositoryId, NewDigest(), CancellationToken.None));
        Assert.Equal(["latest", "v1"], await Store.ListTagsAsync(stored.RepositoryId, null, 10, CancellationToken.None));
    }

    [Fact]
    public async Task PuttingAStoredManifestAgain_KeepsIt_AndMovesOnlyTheTags()
    {
        var first = NewManifest();
        var second = NewManifest();
        await Store.PutManifestAsync("again/app", first, ["v1"], CancellationToken.None);
        var repository = (await Store.PutManifestAsync("again/app", second, ["v1"], CancellationToken.None)).RepositoryId;

        // The same digest with another media type: the stored manifest wins.
        var restated = await Store.PutManifestAsync("again/app", first with { MediaType = "application/vnd.oci.image.manifest.v1+json" }, ["v2"], CancellationToken.None);

        Assert.Equal(first.MediaType, restated.MediaType);
        var index = await LoadIndexAsync(Store);
        Assert.Equal(second.Digest, index.Tags[("again/app", "v1")]);
        Assert.Equal(first.Digest, index.Tags[("again/app", "v2")]);
        Assert.Equal(["v1", "v2"], await Store.ListTagsAsync(repository, null, 10, CancellationToken.None));
    }

    [Fact]
    public async Task DeletingAManifest_RemovesItAndTheTagsThatPointedAtIt()
    {
        var kept = NewManifest();
        var deleted = NewManifest();
        var repository = (await Store.PutManifestAsync("del/app", kept, ["keep"], CancellationToken.None)).RepositoryId;
        await Store.PutManifestAsync("del/app", deleted, ["a", "b"], CancellationToken.None);

        var tags = await Store.DeleteManifestAsync("del/app", deleted.Digest, CancellationToken.None);

        Assert.Equal(["a", "b"], tags?.Order(StringComparer.Ordinal));
        Assert.Null(await Store.DeleteManifestAsync("del/app", deleted.Digest, CancellationToken.None));
        Assert.Null(await Store.DeleteManifestAsync("del/never", kept.Digest, CancellationToken.None));
        Assert.Null(await Store.GetManifestContentAsync(repository, deleted.Digest, CancellationToken.None));
        Assert.Equal(["keep"], await Store.ListTagsAsync(repository, null, 10, CancellationToken.None));
    }

    [Fact]
    public async Task DeletingATag_LeavesTheManifest()
    {
        var manifest = NewManifest();
        var repository = (await Store.PutManifestAsync("tagdel/app", manifest, ["x", "y"], CancellationToken.None)).RepositoryId;

        Assert.True(await Store.DeleteTagAsync("tagdel/app", "x", CancellationToken.None));
        Assert.False(await Store.DeleteTagAsync("tagdel/app", "x", CancellationToken.None));
        Assert.False(await Store.DeleteTagAsync("tagdel/never", "y", CancellationToken.None));

        Assert.Equal(["y"], await Store.ListTagsAsync(repository, null, 10, CancellationToken.None));
        Assert.Equal(manifest.Content, await Store.GetManifestContentAsync(repository, manifest.Digest, CancellationToken.None));
    }

    [Fact]
    public async Task TagsAndRepositories_ArePagedInOrdinalOrder()
    {
        var repository = (await Store.PutManifestAsync("page/app", NewManifest(), ["b", "B", "a", "a.1", "a-1", "_z"], CancellationToken.None)).RepositoryId;
        await Store.LinkBlobAsync("page/Z", NewDigest(), 1, null, CancellationToken.None);

        Assert.Equal(["B", "_z", "a", "a-1", "a.1", "b"], await Store.ListTagsAsync(repository, null, 100, CancellationToken.None));
        Assert.Equal(["a", "a-1"], await Store.ListTagsAsync(repository, "_z", 2, CancellationToken.None));
        Assert.Empty(await Store.ListTagsAsync(repository, "b", 2, CancellationToken.None));
        Assert.Equal(["page/app"], await Store.ListRepositoriesAsync("page/Z", 1, CancellationToken.None));
        Assert.Equal(["page/Z", "page/app"], await Store.ListRepositoriesAsync(null, 2, CancellationToken.None));
    }

    [Fact]
    public async Task Referrers_AreTheManifestsWithThatSubject_FilteredByArtifactType()
    {
        var subject = NewDigest();
        var signature = NewManifest(subject: subject, artifactType: "application/vnd.example.signature");
        var sbom = NewManifest(subject: subject, artifactType: "application/vnd.example.sbom");
        var repository = (await Store.PutManifestAsync("ref/app", signature, [], CancellationToken.None)).RepositoryId;
        await Store.PutManifestAsync("ref/app", sbom, [], CancellationToken.None);
        await Store.PutManifestAsync("ref/app", NewManifest(subject: NewDigest()), [], CancellationToken.None);
        await Store.PutManifestAsync("ref/other", NewManifest(subject: subject), [], CancellationToken.None);

        var all = await Store.ListReferrersAsync(repository, subject, null, CancellationToken.None);
        var sboms = await Store.ListReferrersAsync(repository, subject, "application/vnd.example.sbom", CancellationToken.None);

        Assert.Equal(new[] { signature.Digest, sbom.Digest }.Order(StringComparer.Ordinal), all.Select(r => r.Digest));
        var only = Assert.Single(sboms);
        Assert.Equal(sbom.Digest, only.Digest);
        Assert.Equal(sbom.ArtifactType, only.ArtifactType);
        Assert.Equal(sbom.MediaType, only.MediaType);
        Assert.Equal(sbom.Content, only.Content);
    }

    [Fact]
    public async Task TheIndex_StreamsEveryRepositoryManifestAndTag_AsStored_AfterARestart()
    {
        var image = NewManifest();
        var index = NewManifest(mediaType: "application/vnd.oci.image.index.v1+json", algorithm: Digest.Sha512);
        await Store.PutManifestAsync("load/app", image, ["v1"], CancellationToken.None);
        await Store.PutManifestAsync("load/app", index, ["multi", "latest"], CancellationToken.None);
        await Store.PutManifestAsync("load/gone", NewManifest(), ["x"], CancellationToken.None);
        await Store.DeleteTagAsync("load/gone", "x", CancellationToken.None);
        await Store.LinkBlobAsync("load/blobs-only", NewDigest(), 3, null, CancellationToken.None);

        var loaded = await LoadIndexAsync(await OpenAsync());

        Assert.Equal(["load/app", "load/blobs-only", "load/gone"], loaded.Repositories.Values.Order(StringComparer.Ordinal));
        Assert.Equal((index.MediaType, index.Content.Length), loaded.Manifests[("load/app", index.Digest)]);
        Assert.Equal((image.MediaType, image.Content.Length), loaded.Manifests[("load/app", image.Digest)]);
        Assert.Equal(3, loaded.Manifests.Count);
        Assert.Equal((3, 3, 3), loaded.Reserved);
        Assert.Equal(
            new Dictionary<(string, string), string>
            {
                [("load/app", "v1")] = image.Digest,
                [("load/app", "multi")] = index.Digest,
                [("load/app", "latest")] = index.Digest,
            },
            loaded.Tags);
    }

    private protected static string NewDigest() => Digest.Compute(RandomNumberGenerator.GetBytes(16)).ToString();

    private protected static NewManifest NewManifest(
        string mediaType = "application/vnd.docker.distribution.manifest.v2+json", string? subject = null, string? artifactType = null, string algorithm = Digest.Sha256)
    {
        var content = Encoding.UTF8.GetBytes($$"""{"schemaVersion":2,"mediaType":"{{mediaType}}","nonce":"{{Guid.NewGuid()}}"}""");
        return new NewManifest(Digest.Compute(content, algorithm).ToString(), mediaType, artifactType, subject, content, [], []);
    }

    private static async Task<RecordingIndex> LoadIndexAsync(IMetadataStore store)
    {
        var index = new RecordingIndex();
        await store.LoadIndexAsync(index, CancellationToken.None);
        return index;
    }

    private sealed class RecordingIndex : IIndexBuilder
    {
        private readonly List<(string Repository, string Digest)> _handles = [];

        public Dictionary<long, string> Repositories { get; } = [];

        public Dictionary<(string Repository, string Digest), (string MediaType, long Size)> Manifests { get; } = [];

        public Dictionary<(string Repository, string Tag), string> Tags { get; } = [];

        public (int Repositories, int Manifests, int Tags)? Reserved { get; private set; }

        public void Reserve(int repositories, int manifests, int tags)
        {
            Assert.Null(Reserved);
            Assert.Empty(Repositories);
            Reserved = (repositories, manifests, tags);
        }

        public void AddRepository(long id, string name) => Repositories.Add(id, name);

        public int AddManifest(long repositoryId, string digest, string mediaType, long size)
        {
            Manifests.Add((Repositories[repositoryId], digest), (mediaType, size));
            _handles.Add((Repositories[repositoryId], digest));
            return _handles.Count - 1;
        }

        public void AddTag(long repositoryId, string name, int manifest)
        {
            Assert.Equal(Repositories[repositoryId], _handles[manifest].Repository);
            Tags.Add((Repositories[repositoryId], name), _handles[manifest].Digest);
        }
    }
}
