namespace Berth.Registry.Manifests;

internal static class MediaTypes
{
    public const string DockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
    public const string DockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";
    public const string DockerSchema1 = "application/vnd.docker.distribution.manifest.v1+json";
    public const string DockerSchema1Signed = "application/vnd.docker.distribution.manifest.v1+prettyjws";
    public const string OciManifest = "application/vnd.oci.image.manifest.v1+json";
    public const string OciIndex = "application/vnd.oci.image.index.v1+json";
    public const string DockerForeignLayer = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
    public const string OciNonDistributablePrefix = "application/vnd.oci.image.layer.nondistributable.";
    public const string OciEmpty = "application/vnd.oci.empty.v1+json";

    public static bool IsIndex(string mediaType) => mediaType is DockerManifestList or OciIndex;

    public static bool IsImageManifest(string mediaType) => mediaType is DockerManifest or OciManifest;

    public static bool IsSupported(string mediaType) => IsIndex(mediaType) || IsImageManifest(mediaType);

    /// <summary>Layers that live outside the registry (their descriptor carries <c>urls</c>): they need not be pushed.</summary>
    public static bool IsNonDistributable(string mediaType) =>
        mediaType == DockerForeignLayer || mediaType.StartsWith(OciNonDistributablePrefix, StringComparison.Ordinal);
}
