using System.Security.Cryptography;
using System.Text;

namespace Berth.Bench.RegistryScale;

/// <summary>
/// The registry of the garbage-collection benchmark, generated deterministically so that the populator and the
/// verifier agree without a list of a million digests. Every repository holds exactly
/// <see cref="ManifestsPerRepository"/> manifests and <see cref="BlobsPerRepository"/> blobs:
/// <list type="bullet">
/// <item>an OCI index tagged <c>latest</c> listing images 79 and 80 (untagged children: GC must keep them);</item>
/// <item>images 1-78 tagged <c>v&lt;i&gt;</c>;</item>
/// <item>images 81-99: garbage, pushed with a tag <c>rc&lt;i&gt;</c> that was then deleted (19 per repository);</item>
/// <item>each image references its own config and 8 own layers and the repository's shared base layer (so the base
///   is referenced by live and garbage images alike and must stay);</item>
/// <item>108 orphan blobs per repository: uploaded and linked, referenced by no manifest.</item>
/// </list>
/// Per repository: 81 live manifests, 19 garbage (19%); 721 live blobs, 279 garbage (27.9%: 171 of garbage images, 108
/// orphans). Blob bytes are a short text naming the blob: the count matters, not the size.
/// </summary>
internal static class GcImages
{
    public const int ManifestsPerRepository = 100;
    public const int BlobsPerRepository = 1000;
    public const int Images = 99;
    public const int LayersPerImage = 8;
    public const int FirstIndexChild = 79;
    public const int FirstGarbageImage = 81;
    public const int Orphans = BlobsPerRepository - 1 - (Images * (1 + LayersPerImage));

    public const string ManifestType = "application/vnd.oci.image.manifest.v1+json";
    public const string IndexType = "application/vnd.oci.image.index.v1+json";
    public const string ConfigType = "application/vnd.oci.image.config.v1+json";
    public const string LayerType = "application/vnd.oci.image.layer.v1.tar+gzip";

    public static string Repository(int r) => $"gc/team{r % 100:D2}/app{r:D5}";

    public static bool IsGarbage(int image) => image >= FirstGarbageImage;

    /// <summary>The tag image <paramref name="image"/> has after population (null: untagged).</summary>
    public static string? Tag(int image) => image < FirstIndexChild ? $"v{image}" : null;

    /// <summary>The tag a garbage image was pushed with and lost.</summary>
    public static string DeletedTag(int image) => $"rc{image}";

    public static byte[] Base(int r) => Encoding.UTF8.GetBytes($"berth gc bench base layer of repository {r}\n");

    public static byte[] Config(int r, int image) => Encoding.UTF8.GetBytes($"{{\"architecture\":\"amd64\",\"os\":\"linux\",\"bench\":\"{r}/{image}\"}}");

    public static byte[] Layer(int r, int image, int l) => Encoding.UTF8.GetBytes($"berth gc bench layer {l} of image {image} of repository {r}\n");

    public static byte[] Orphan(int r, int o) => Encoding.UTF8.GetBytes($"berth gc bench orphan upload {o} of repository {r}\n");

    /// <summary>The blobs image <paramref name="image"/> references: config first, then the shared base, then its own layers.</summary>
    public static IEnumerable<byte[]> References(int r, int image)
    {
        yield return Config(r, image);
        yield return Base(r);
        for (var l = 0; l < LayersPerImage; l++)
        {
            yield return Layer(r, image, l);
        }
    }

    /// <summary>The blobs only image <paramref name="image"/> references (not the base).</summary>
    public static IEnumerable<byte[]> OwnBlobs(int r, int image) => References(r, image).Where((_, i) => i != 1);

    public static byte[] Manifest(int r, int image)
    {
        var json = new StringBuilder(2048);
        var config = Config(r, image);
        json.Append("{\"schemaVersion\":2,\"mediaType\":\"").Append(ManifestType).Append("\",\"config\":");
        Descriptor(json, ConfigType, config);
        json.Append(",\"layers\":[");
        var first = true;
        foreach (var layer in References(r, image).Skip(1))
        {
            json.Append(first ? "" : ",");
            Descriptor(json, LayerType, layer);
            first = false;
        }

        json.Append("]}");
        return Encoding.UTF8.GetBytes(json.ToString());
    }

    public static byte[] Index(int r)
    {
        var json = new StringBuilder(1024);
        json.Append("{\"schemaVersion\":2,\"mediaType\":\"").Append(IndexType).Append("\",\"manifests\":[");
        for (var image = FirstIndexChild; image < FirstGarbageImage; image++)
        {
            var child = Manifest(r, image);
            json.Append(image == FirstIndexChild ? "" : ",");
            json.Append("{\"mediaType\":\"").Append(ManifestType).Append("\",\"size\":").Append(child.Length)
                .Append(",\"digest\":\"").Append(Digest(child)).Append("\",\"platform\":{\"architecture\":\"")
                .Append(image == FirstIndexChild ? "amd64" : "arm64").Append("\",\"os\":\"linux\"}}");
        }

        json.Append("]}");
        return Encoding.UTF8.GetBytes(json.ToString());
    }

    public static string Digest(byte[] content) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(content));

    private static void Descriptor(StringBuilder json, string mediaType, byte[] content) =>
        json.Append("{\"mediaType\":\"").Append(mediaType).Append("\",\"size\":").Append(content.Length)
            .Append(",\"digest\":\"").Append(Digest(content)).Append("\"}");
}
