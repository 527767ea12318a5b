using System.Security.Cryptography;
using System.Text;

namespace Berth.Bench.RegistryScale;

/// <summary>
/// The large registry of the scale benchmark, generated deterministically so that the populator and the load tool
/// (which compiles this file too) agree without a list of a million digests: repository r holds manifests
/// 0..perRepository-1, each a docker schema 2 image manifest (~1 KiB) with its own config blob and five layers, two
/// of them shared by the repository's images, tagged <c>v1.&lt;m&gt;.&lt;r mod 97&gt;</c>.
/// </summary>
internal static class ScaleImages
{
    public const string ManifestType = "application/vnd.docker.distribution.manifest.v2+json";
    public const string ConfigType = "application/vnd.docker.container.image.v1+json";
    public const string LayerType = "application/vnd.docker.image.rootfs.diff.tar.gzip";

    public static string Repository(int r) => $"scale/team{r % 1000:D3}/service{r:D6}";

    public static string Tag(int r, int m) => $"v1.{m}.{r % 97}";

    public static (string Digest, long Size) Config(int r, int m) => (Sha256($"config {r} {m}"), 1_400 + ((r + m) % 300));

    /// <summary>Layers 0 and 1 are the repository's base, shared by its images; 2-4 are the image's own.</summary>
    public static (string Digest, long Size) Layer(int r, int m, int l) =>
        l < 2 ? (Sha256($"base {r} {l}"), 30_000_000 + (r % 1000)) : (Sha256($"layer {r} {m} {l}"), 1_000_000 + (l * 1000) + m);

    public static byte[] Manifest(int r, int m)
    {
        var json = new StringBuilder(1100);
        var (configDigest, configSize) = Config(r, m);
        json.Append("{\n   \"schemaVersion\": 2,\n   \"mediaType\": \"").Append(ManifestType).Append("\",\n   \"config\": {\n");
        json.Append("      \"mediaType\": \"").Append(ConfigType).Append("\",\n      \"size\": ").Append(configSize)
            .Append(",\n      \"digest\": \"").Append(configDigest).Append("\"\n   },\n   \"layers\": [");
        for (var l = 0; l < 5; l++)
        {
            var (digest, size) = Layer(r, m, l);
            json.Append(l == 0 ? "\n" : ",\n").Append("      {\n         \"mediaType\": \"").Append(LayerType).Append("\",\n         \"size\": ")
                .Append(size).Append(",\n         \"digest\": \"").Append(digest).Append("\"\n      }");
        }

        json.Append("\n   ]\n}");
        return Encoding.UTF8.GetBytes(json.ToString());
    }

    public static string Digest(byte[] content) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(content));

    private static string Sha256(string seed) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(seed)));
}
