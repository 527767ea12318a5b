using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Berth.Registry.Tests.Conformance;

/// <summary>A descriptor as a manifest carries it, plus what a referrers answer must say about it.</summary>
public sealed record ContentDescriptor(string MediaType, string Digest, long Size)
{
    public string? ArtifactType { get; init; }

    public IReadOnlyDictionary<string, string> Annotations { get; init; } = new Dictionary<string, string>();

    public JsonObject ToJson() => new() { ["mediaType"] = MediaType, ["digest"] = Digest, ["size"] = Size };
}

/// <summary>
/// One kind of content the conformance suites push and pull (an image, an index, an artifact with a subject, a sparse
/// index...): its blobs, its manifests in push order, its tags, and the referrers each subject must list. Generated
/// here from the suites' descriptions of the data, with random bytes, so that every run pushes new content.
/// </summary>
public sealed class ConformanceDataSet(string name)
{
    public const string OciManifest = "application/vnd.oci.image.manifest.v1+json";
    public const string OciIndex = "application/vnd.oci.image.index.v1+json";
    public const string OciConfig = "application/vnd.oci.image.config.v1+json";
    public const string OciLayer = "application/vnd.oci.image.layer.v1.tar";
    public const string OciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
    public const string OciEmpty = "application/vnd.oci.empty.v1+json";
    public const string ExampleType1 = "application/vnd.example.berth.conformance.v1";
    public const string ExampleType2 = "application/vnd.example.berth.conformance.v2";
    public const string OctetStream = "application/octet-stream";

    public string Name { get; } = name;

    /// <summary>Blobs to push, by digest (a sparse data set leaves some referenced blobs out).</summary>
    public Dictionary<string, (byte[] Bytes, string MediaType)> Blobs { get; } = [];

    /// <summary>Manifests to push, in order (children before the indexes that list them).</summary>
    public List<(string Digest, byte[] Bytes, string MediaType, string? Subject)> Manifests { get; } = [];

    public Dictionary<string, string> Tags { get; } = new(StringComparer.Ordinal);

    /// <summary>Push every tag as a <c>?tag=</c> parameter of the push by digest (OCI-Tag must confirm each).</summary>
    public bool TagParameters { get; set; }

    /// <summary>The manifests are pushed with a digest that does not match their bytes: every push must fail with 400.</summary>
    public bool ExpectBadDigest { get; set; }

    /// <summary>Content that manifests reference but the data set does not push (sparse manifests).</summary>
    public HashSet<string> Missing { get; } = new(StringComparer.Ordinal);

    /// <summary>What each subject's referrers list must hold.</summary>
    public Dictionary<string, List<ContentDescriptor>> Referrers { get; } = new(StringComparer.Ordinal);

    public string Algorithm { get; set; } = "sha256";

    public string Digest(byte[] bytes) => Algorithm == "sha512"
        ? "sha512:" + Convert.ToHexStringLower(SHA512.HashData(bytes))
        : "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes));

    public ContentDescriptor AddBlob(byte[] bytes, string mediaType)
    {
        var digest = Digest(bytes);
        Blobs[digest] = (bytes, mediaType);
        return new ContentDescriptor(mediaType, digest, bytes.Length);
    }

    public ContentDescriptor Layer(bool gzip = true) => AddBlob(RandomBytes(2048 + Random.Shared.Next(2048)), gzip ? OciLayerGzip : OciLayer);

    public ContentDescriptor Config(string architecture = "amd64", bool extraField = false)
    {
        var config = new JsonObject
        {
            ["architecture"] = architecture,
            ["os"] = "linux",
            ["author"] = "berth conformance " + Guid.NewGuid().ToString("N"),
            ["rootfs"] = new JsonObject { ["type"] = "layers", ["diff_ids"] = new JsonArray() },
        };
        if (extraField)
        {
            config["org.example.unknown." + Guid.NewGuid().ToString("N")[..8]] = "a field no spec defines";
        }

        return AddBlob(Encoding.UTF8.GetBytes(config.ToJsonString()), OciConfig);
    }

    /// <summary>An image manifest; with a subject it becomes a referrer of that subject.</summary>
    public ContentDescriptor Image(
        ContentDescriptor config,
        IEnumerable<ContentDescriptor> layers,
        string? tag = null,
        string? artifactType = null,
        ContentDescriptor? subject = null,
        Dictionary<string, string>? annotations = null,
        Action<JsonObject>? edit = null)
    {
        var manifest = new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = OciManifest,
            ["config"] = config.ToJson(),
            ["layers"] = new JsonArray([.. layers.Select(l => (JsonNode)l.ToJson())]),
        };
        if (artifactType is not null)
        {
            manifest["artifactType"] = artifactType;
        }

        edit?.Invoke(manifest);
        // The referrers API lists an image manifest without artifactType under its config's media type.
        return AddManifest(manifest, OciManifest, tag, subject, annotations, artifactType ?? config.MediaType);
    }

    /// <summary>An index of <paramref name="children"/>, each with the platform given.</summary>
    public ContentDescriptor Index(
        IEnumerable<(ContentDescriptor Child, string? Architecture)> children,
        string? tag = null,
        string? artifactType = null,
        ContentDescriptor? subject = null,
        Dictionary<string, string>? annotations = null,
        Action<JsonObject>? edit = null)
    {
        var manifests = new JsonArray();
        foreach (var (child, architecture) in children)
        {
            var descriptor = child.ToJson();
            if (architecture is not null)
            {
                descriptor["platform"] = new JsonObject { ["architecture"] = architecture, ["os"] = "linux" };
            }

            manifests.Add(descriptor);
        }

        var index = new JsonObject { ["schemaVersion"] = 2, ["mediaType"] = OciIndex, ["manifests"] = manifests };
        if (artifactType is not null)
        {
            index["artifactType"] = artifactType;
        }

        edit?.Invoke(index);
        // An index without artifactType is listed without one.
        return AddManifest(index, OciIndex, tag, subject, annotations, artifactType);
    }

    /// <summary>A two-layer image with its config: what the suites call a full image.</summary>
    public ContentDescriptor FullImage(string? tag = null, string architecture = "amd64", bool gzip = true, int layers = 2, ContentDescriptor? subject = null, bool extraField = false, Action<JsonObject>? edit = null) =>
        Image(Config(architecture, extraField), Enumerable.Range(0, layers).Select(_ => Layer(gzip)).ToList(), tag, subject: subject, edit: edit);

    /// <summary>An artifact: an empty config, one layer of <paramref name="layerType"/>, an artifactType.</summary>
    public ContentDescriptor Artifact(string artifactType, string layerType, ContentDescriptor? subject = null, string? tag = null, byte[]? layer = null)
    {
        var empty = AddBlob("{}"u8.ToArray(), OciEmpty);
        var annotations = new Dictionary<string, string>
        {
            ["org.example.conformance"] = "hello conformance test",
            ["org.example." + Guid.NewGuid().ToString("N")[..12]] = Guid.NewGuid().ToString("N"),
        };
        return Image(empty, [AddBlob(layer ?? RandomBytes(512), layerType)], tag, artifactType, subject, annotations);
    }

    public static byte[] RandomBytes(int length)
    {
        var bytes = new byte[length];
        Random.Shared.NextBytes(bytes);
        return bytes;
    }

    private ContentDescriptor AddManifest(JsonObject manifest, string mediaType, string? tag, ContentDescriptor? subject, Dictionary<string, string>? annotations, string? listedArtifactType)
    {
        if (subject is not null)
        {
            manifest["subject"] = subject.ToJson();
        }

        if (annotations is { Count: > 0 })
        {
            manifest["annotations"] = new JsonObject([.. annotations.Select(a => KeyValuePair.Create(a.Key, (JsonNode?)a.Value))]);
        }

        var bytes = Encoding.UTF8.GetBytes(manifest.ToJsonString());
        var descriptor = new ContentDescriptor(mediaType, Digest(bytes), bytes.Length)
        {
            ArtifactType = listedArtifactType,
            Annotations = annotations ?? [],
        };
        Manifests.Add((descriptor.Digest, bytes, mediaType, subject?.Digest));
        if (tag is not null)
        {
            Tags[tag] = descriptor.Digest;
        }

        if (subject is not null)
        {
            if (!Referrers.TryGetValue(subject.Digest, out var list))
            {
                Referrers[subject.Digest] = list = [];
            }

            list.Add(descriptor);
        }

        return descriptor;
    }
}

/// <summary>The data sets of the suites (v1.1.1 and main), by name.</summary>
public static class ConformanceData
{
    public static readonly string[] Names =
    [
        "image", "image-uncompressed", "large-manifest", "index", "nested-index", "empty-index", "artifact", "artifact-index",
        "artifact-without-layers", "artifacts-with-subject", "index-with-subject", "missing-subject", "data-field",
        "non-distributable-layers", "custom-fields", "no-layers", "sparse", "sha512", "tag-param-sha256", "tag-param-sha512",
        "bad-digest-image", "referrers-v1.1",
    ];

    public static IEnumerable<object[]> All => Names.Select(n => new object[] { n });

    public static ConformanceDataSet Create(string name)
    {
        var set = new ConformanceDataSet(name);
        switch (name)
        {
            case "image":
                set.FullImage(tag: "image");
                break;
            case "image-uncompressed":
                set.FullImage(tag: "image-uncompressed", gzip: false);
                break;
            case "large-manifest":
                // Close to the 4 MiB every registry should accept: 390 annotations of 10,000 characters.
                set.FullImage(tag: "large-manifest", edit: m => m["annotations"] = new JsonObject(
                    [.. Enumerable.Range(0, 390).Select(i => KeyValuePair.Create($"large-annotation-{i}", (JsonNode?)new string('A', 10_000)))]));
                break;
            case "index":
                set.Index([(set.FullImage(), "amd64"), (set.FullImage(architecture: "arm64"), "arm64")], tag: "index");
                break;
            case "nested-index":
                var first = set.Index([(set.FullImage(), "amd64"), (set.FullImage(architecture: "arm64"), "arm64")]);
                var second = set.Index([(set.FullImage(), "amd64"), (set.FullImage(architecture: "arm64"), "arm64")]);
                set.Index([(first, null), (second, null)], tag: "index-of-index");
                break;
            case "empty-index":
                set.Index([], tag: "index");
                break;
            case "artifact":
                set.Artifact(ConformanceDataSet.ExampleType1, ConformanceDataSet.ExampleType1, tag: "artifact");
                break;
            case "artifact-index":
                set.Index(
                    [(set.Artifact(ConformanceDataSet.ExampleType1, ConformanceDataSet.ExampleType1), "amd64"), (set.Artifact(ConformanceDataSet.ExampleType1, ConformanceDataSet.ExampleType1), "arm64")],
                    tag: "artifact-index",
                    artifactType: ConformanceDataSet.ExampleType1);
                break;
            case "artifact-without-layers":
                set.Artifact(ConformanceDataSet.ExampleType1, ConformanceDataSet.OciEmpty, tag: "artifact-without-layers", layer: "{}"u8.ToArray());
                break;
            case "artifacts-with-subject":
                var subject = set.FullImage(tag: "image");
                set.FullImage(subject: subject);
                set.Artifact(ConformanceDataSet.ExampleType1, ConformanceDataSet.ExampleType1, subject, tag: "tagged-artifact1");
                set.Artifact(ConformanceDataSet.ExampleType2, ConformanceDataSet.OctetStream, subject, tag: "tagged-artifact2");
                break;
            case "index-with-subject":
                var subjectIndex = set.Index([(set.FullImage(), "amd64"), (set.FullImage(architecture: "arm64"), "arm64")], tag: "index");
                set.Index(
                    [
                        (set.Artifact(ConformanceDataSet.ExampleType1, ConformanceDataSet.ExampleType1, subjectIndex), "amd64"),
                        (set.Artifact(ConformanceDataSet.ExampleType1, ConformanceDataSet.ExampleType1, subjectIndex), "arm64"),
                    ],
                    tag: "tagged-artifact",
                    artifactType: ConformanceDataSet.ExampleType1,
                    subject: subjectIndex,
                    annotations: new() { ["org.example.conformance"] = "an index that refers" });
                break;
            case "missing-subject":
                var missing = new ContentDescriptor(ConformanceDataSet.OciManifest, set.Digest(Encoding.UTF8.GetBytes("missing content " + Guid.NewGuid())), 123);
                set.Artifact(ConformanceDataSet.ExampleType1, ConformanceDataSet.ExampleType1, missing, tag: "tagged-artifact");
                break;
            case "data-field":
                // Descriptors that embed their content (the image spec's data field), base64.
                var config = set.Config();
                var layer = set.Layer();
                set.Image(config, [layer], tag: "data-field", edit: m =>
                {
                    m["config"]!["data"] = Convert.ToBase64String(set.Blobs[config.Digest].Bytes);
                    m["layers"]![0]!["data"] = Convert.ToBase64String(set.Blobs[layer.Digest].Bytes);
                });
                break;
            case "non-distributable-layers":
                var foreign1 = new ContentDescriptor("application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", set.Digest(ConformanceDataSet.RandomBytes(256)), 123456);
                var foreign2 = new ContentDescriptor("application/vnd.oci.image.layer.nondistributable.v1.tar", set.Digest(ConformanceDataSet.RandomBytes(256)), 12345);
                set.Image(set.Config(), [foreign1, foreign2, set.Layer()], tag: "non-distributable-image", edit: m =>
                {
                    m["layers"]![0]!["urls"] = new JsonArray("https://store.example.com/blobs/" + foreign1.Digest);
                    m["layers"]![1]!["urls"] = new JsonArray("https://store.example.com/blobs/" + foreign2.Digest);
                });
                break;
            case "custom-fields":
                set.Index(
                    [(set.FullImage(extraField: true, edit: Extra), "amd64"), (set.FullImage(architecture: "arm64", extraField: true, edit: Extra), "arm64")],
                    tag: "custom-fields",
                    edit: Extra);
                break;
            case "no-layers":
                set.FullImage(tag: "no-layers", layers: 0);
                break;
            case "sparse":
                // An image whose first layer is never pushed, and an index of one pushed image and one that never was.
                set.FullImage(tag: "sparse-image");
                var unpushedLayer = set.Blobs.First(b => b.Value.MediaType == ConformanceDataSet.OciLayerGzip).Key;
                set.Blobs.Remove(unpushedLayer);
                set.Missing.Add(unpushedLayer);
                var absent = new ContentDescriptor(ConformanceDataSet.OciManifest, set.Digest(ConformanceDataSet.RandomBytes(1024)), 1024);
                set.Missing.Add(absent.Digest);
                set.Index([(set.FullImage(), "amd64"), (absent, "arm64")], tag: "sparse-index");
                break;
            case "sha512":
                set.Algorithm = "sha512";
                set.Index([(set.FullImage(), "amd64"), (set.FullImage(architecture: "arm64"), "arm64")]);
                break;
            case "tag-param-sha256":
            case "tag-param-sha512":
                set.Algorithm = name.EndsWith("sha512", StringComparison.Ordinal) ? "sha512" : "sha256";
                set.TagParameters = true;
                set.Index([(set.FullImage(), "amd64"), (set.FullImage(architecture: "arm64"), "arm64")], tag: name);
                for (var i = 0; i < set.Manifests.Count; i++)
                {
                    set.Tags[$"{name}-{i}"] = set.Manifests[i].Digest;
                }

                break;
            case "bad-digest-image":
                set.FullImage();
                set.ExpectBadDigest = true;
                var (digest, bytes, mediaType, subjectDigest) = set.Manifests[0];
                // Whitespace after the JSON: still a valid manifest, but no longer the bytes of its digest.
                set.Manifests[0] = (digest, [.. bytes, (byte)' ', (byte)' '], mediaType, subjectDigest);
                break;
            case "referrers-v1.1":
                // The v1.1.1 suite's referrers: two artifacts typed by their config, two by artifactType with an empty
                // config, and an index of two of them, all referring to one image; one more refers to an absent image.
                var image = set.FullImage(tag: "tagtest0");
                ContentDescriptor ConfigTyped(string type, string label) => set.Image(
                    set.AddBlob(ConformanceDataSet.RandomBytes(40), type), [set.AddBlob("{}"u8.ToArray(), ConformanceDataSet.OciEmpty)], subject: image, annotations: new() { ["org.opencontainers.conformance.test"] = label });
                ContentDescriptor LayerTyped(string type, string label, ContentDescriptor about) => set.Image(
                    set.AddBlob("{}"u8.ToArray(), ConformanceDataSet.OciEmpty), [set.AddBlob(ConformanceDataSet.RandomBytes(40), type)], artifactType: type, subject: about, annotations: label.Length > 0 ? new() { ["org.opencontainers.conformance.test"] = label } : null);
                var configA = ConfigTyped("application/vnd.nhl.peanut.butter.bagel", "test config a");
                var layerA = LayerTyped("application/vnd.nhl.peanut.butter.bagel", "test layer a", image);
                set.Index([(configA, null), (layerA, null)], artifactType: "application/vnd.food.stand", subject: image, annotations: new() { ["org.opencontainers.conformance.test"] = "test index" });
                ConfigTyped("application/vnd.nba.strawberry.jam.croissant", "test config b");
                LayerTyped("application/vnd.nba.strawberry.jam.croissant", "test layer b", image);
                var absentImage = new ContentDescriptor(ConformanceDataSet.OciManifest, set.Digest(ConformanceDataSet.RandomBytes(64)), 64);
                LayerTyped("application/vnd.nba.strawberry.jam.croissant", string.Empty, absentImage);
                break;
            default:
                throw new ArgumentException($"no data set named {name}", nameof(name));
        }

        return set;

        static void Extra(JsonObject json) => json["org.example.unknown." + Guid.NewGuid().ToString("N")[..8]] = new JsonObject { ["anything"] = 42 };
    }
}
