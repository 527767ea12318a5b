namespace Berth.Registry.Manifests;

/// <summary>
/// Which manifests may be stored while content they reference is not in the repository. The distribution spec lets a
/// registry refuse them (MANIFEST_BLOB_UNKNOWN) or accept them; mirrors that copy one platform of a multi-platform
/// image, or an image without its non-redistributable layers, need the second.
/// </summary>
internal enum SparseManifests
{
    /// <summary>Every config, layer and child manifest must be in the repository.</summary>
    None,

    /// <summary>Indexes may list child manifests the repository does not hold; image manifests stay complete.</summary>
    Index,

    /// <summary>Indexes as above, and image manifests may reference a config or layers the repository does not hold.</summary>
    All,
}
