using System.Security.Cryptography;
using Berth.Core.Images;
using Berth.Registry.Storage.Index;
using Berth.TestSupport;

namespace Berth.Registry.Tests.Storage;

public sealed class ManifestIndexTests
{
    private const string Docker = "application/vnd.docker.distribution.manifest.v2+json";
    private const string Oci = "application/vnd.oci.image.index.v1+json";

    [Fact]
    public void Manifests_AreFoundByDigestAndTag_PerRepository()
    {
        var index = new ManifestIndex();
        index.AddRepository(1, "team/app");
        index.AddRepository(2, "team/other");
        var image = NewDigest(Digest.Sha256);
        var list = NewDigest(Digest.Sha512);
        index.PutManifest(1, image, Docker, 1234, ["v1", "latest"]);
        index.PutManifest(1, list, Oci, 99, ["multi"]);

        Assert.True(index.TryGetRepository("team/app", out var id));
        Assert.Equal(1, id);
        Assert.False(index.TryGetRepository("team/ap", out _));
        Assert.True(index.TryGetByDigest(1, image, out var byDigest));
        Assert.Equal((image, Docker, 1234), (byDigest.ToString(), byDigest.MediaType, byDigest.Size));
        Assert.True(index.TryGetByTag(1, "multi", out var byTag));
        Assert.Equal((list, Oci, 99, 1), (byTag.ToString(), byTag.MediaType, byTag.Size, byTag.RepositoryId));
        Assert.False(index.TryGetByDigest(2, image, out _));
        Assert.False(index.TryGetByTag(2, "v1", out _));
        Assert.False(index.TryGetByTag(1, "v2", out _));
        Assert.False(index.TryGetByDigest(1, NewDigest(Digest.Sha256), out _));
    }

    [Fact]
    public void Retagging_RemovingTagsAndManifests_AreSeenAtOnce()
    {
        var index = new ManifestIndex();
        index.AddRepository(7, "r");
        var (a, b) = (NewDigest(Digest.Sha256), NewDigest(Digest.Sha256));
        index.PutManifest(7, a, Docker, 1, ["latest", "a"]);
        index.PutManifest(7, b, Docker, 2, ["latest"]);

        Assert.True(index.TryGetByTag(7, "latest", out var latest));
        Assert.Equal(b, latest.ToString());

        Assert.True(index.RemoveTag(7, "a"));
        Assert.False(index.RemoveTag(7, "a"));
        Assert.False(index.TryGetByTag(7, "a", out _));

        Assert.True(index.RemoveManifest(7, b, ["latest"]));
        Assert.False(index.TryGetByDigest(7, b, out _));
        Assert.False(index.TryGetByTag(7, "latest", out _));
        Assert.True(index.TryGetByDigest(7, a, out _));

        // A freed slot is reused; the old tag must not come back through it.
        var c = NewDigest(Digest.Sha256);
        index.PutManifest(7, c, Docker, 3, []);
        Assert.False(index.TryGetByTag(7, "latest", out _));
        Assert.True(index.TryGetByDigest(7, c, out var reused));
        Assert.Equal(3, reused.Size);
    }

    [Fact]
    public void ALargeIndex_AgreesWithADictionary_ThroughGrowthAndRemovals()
    {
        var index = new ManifestIndex();
        var oracle = new Dictionary<(int, string), int>();
        var tags = new Dictionary<(int, string), string>();
        var random = new Random(42);
        for (var repository = 1; repository <= 500; repository++)
        {
            index.AddRepository(repository, $"repo/{repository}");
        }

        var digests = new List<(int Repository, string Digest)>();
        for (var i = 0; i < 60_000; i++)
        {
            var repository = random.Next(1, 501);
            if (digests.Count > 0 && random.Next(4) == 0)
            {
                var victim = digests[random.Next(digests.Count)];
                var removedTags = tags.Where(t => t.Key.Item1 == victim.Repository && t.Value == victim.Digest).Select(t => t.Key.Item2).ToList();
                Assert.Equal(oracle.Remove(victim), index.RemoveManifest(victim.Repository, victim.Digest, removedTags));
                foreach (var tag in removedTags)
                {
                    tags.Remove((victim.Repository, tag));
                }

                continue;
            }

            var digest = NewDigest(random.Next(10) == 0 ? Digest.Sha512 : Digest.Sha256);
            var tagName = $"t{random.Next(50)}";
            index.PutManifest(repository, digest, Docker, i, [tagName]);
            oracle[(repository, digest)] = i;
            tags[(repository, tagName)] = digest;
            digests.Add((repository, digest));
        }

        Assert.Equal(oracle.Count, index.Statistics.Manifests);
        Assert.Equal(tags.Count, index.Statistics.Tags);
        foreach (var ((repository, digest), size) in oracle)
        {
            Assert.True(index.TryGetByDigest(repository, digest, out var found));
            Assert.Equal(size, found.Size);
        }

        foreach (var ((repository, tag), digest) in tags)
        {
            Assert.True(index.TryGetByTag(repository, tag, out var found));
            Assert.Equal(digest, found.ToString());
        }
    }

    [Theory]
    [InlineData(1_000)]
    [InlineData(12_289)]
    public void Reserving_SizesTheTablesNoLargerThanGrowth_AndEverythingLoadedIsFound(int count)
    {
        var reserved = new ManifestIndex();
        var grown = new ManifestIndex();
        reserved.Reserve(count / 10, count, count);
        var manifests = new List<(int Repository, string Digest, int Reference)>();
        foreach (var index in new[] { reserved, grown })
        {
            for (var repository = 1; repository <= count / 10; repository++)
            {
                index.AddRepository(repository, $"repo/{repository}");
            }
        }

        for (var i = 0; i < count; i++)
        {
            var repository = (i % (count / 10)) + 1;
            var digest = NewDigest(Digest.Sha256);
            var reference = reserved.LoadManifest(repository, digest, Docker, i);
            reserved.LoadTag(repository, $"v{i}", reference);
            grown.LoadTag(repository, $"v{i}", grown.LoadManifest(repository, digest, Docker, i));
            manifests.Add((repository, digest, i));
        }

        Assert.True(reserved.Statistics.Bytes <= grown.Statistics.Bytes, $"{reserved.Statistics.Bytes} > {grown.Statistics.Bytes}");
        Assert.Equal(grown.Statistics with { Bytes = 0 }, reserved.Statistics with { Bytes = 0 });
        foreach (var (repository, digest, size) in manifests)
        {
            Assert.True(reserved.TryGetRepository($"repo/{repository}", out var id));
            Assert.Equal(repository, id);
            Assert.True(reserved.TryGetByDigest(repository, digest, out var byDigest));
            Assert.Equal(size, byDigest.Size);
            Assert.True(reserved.TryGetByTag(repository, $"v{size}", out var byTag));
            Assert.Equal(digest, byTag.ToString());
        }

        // A reservation on a table that already holds entries (and tombstones) keeps every one of them found.
        Assert.True(reserved.RemoveManifest(manifests[0].Repository, manifests[0].Digest, ["v0"]));
        reserved.Reserve(count, count * 4, count * 4);
        Assert.False(reserved.TryGetByDigest(manifests[0].Repository, manifests[0].Digest, out _));
        foreach (var (repository, digest, size) in manifests.Skip(1))
        {
            Assert.True(reserved.TryGetByDigest(repository, digest, out var found));
            Assert.Equal(size, found.Size);
            Assert.True(reserved.TryGetByTag(repository, $"v{size}", out _));
        }
    }

    [Fact]
    public async Task Readers_NeverSeeAHalfWrittenEntry_WhileTheWriterChurns()
    {
        // Each tag "t{n}" only ever points at a manifest of size n: a reader that finds the tag with another size saw a
        // torn write. The writer retags, removes and re-adds (reusing slots) and grows the tables meanwhile.
        var index = new ManifestIndex();
        index.AddRepository(1, "churn");
        const int Tags = 64;
        var current = new string[Tags];
        for (var n = 0; n < Tags; n++)
        {
            current[n] = NewDigest(Digest.Sha256);
            index.PutManifest(1, current[n], Docker, n, [$"t{n}"]);
        }

        using var stop = new CancellationTokenSource();
        var torn = 0;
        var reads = 0L;
        var readers = Enumerable.Range(0, 2).Select(_ => Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                for (var n = 0; n < Tags; n++)
                {
                    if (index.TryGetByTag(1, $"t{n}", out var manifest) && (manifest.Size != n || manifest.RepositoryId != 1 || manifest.MediaType != Docker))
                    {
                        Interlocked.Increment(ref torn);
                    }

                    Interlocked.Increment(ref reads);
                }
            }
        })).ToArray();

        var writer = Task.Run(() =>
        {
            var random = new Random(7);
            for (var i = 0; i < 40_000; i++)
            {
                var n = random.Next(Tags);
                index.RemoveManifest(1, current[n], [$"t{n}"]);
                current[n] = NewDigest(Digest.Sha256);
                index.PutManifest(1, current[n], Docker, n, [$"t{n}"]);
                index.PutManifest(1, NewDigest(Digest.Sha256), Docker, Tags + i, []);
            }
        });

        await writer.WithTimeout(TimeSpan.FromMinutes(2));
        await stop.CancelAsync();
        await Task.WhenAll(readers).WithTimeout(TimeSpan.FromMinutes(1));

        Assert.Equal(0, torn);
        Assert.True(reads > Tags, $"{reads} reads");
    }

    private static string NewDigest(string algorithm) => Digest.Compute(RandomNumberGenerator.GetBytes(16), algorithm).ToString();
}
