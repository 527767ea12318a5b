using System.Text.Json;
using System.Text.Json.Serialization;

namespace Berth.RegistryAdmin;

/// <summary>Paths of the registry operations API (repositories, images, garbage collection, lifecycle policies).</summary>
public static class OperationsApiPaths
{
    /// <summary><c>GET</c> lists (<c>?last=&amp;n=</c>), <c>POST</c> creates.</summary>
    public const string Repositories = AdminApiPaths.Prefix + "/repositories";

    /// <summary><c>GET</c> lists, <c>PUT</c> creates or replaces, <c>DELETE ?prefix=</c> removes.</summary>
    public const string RepositoryTemplates = AdminApiPaths.Prefix + "/repository-templates";

    /// <summary>One repository (its name may hold '/'): <c>GET</c> describes, <c>PATCH</c> updates, <c>DELETE ?force=true</c> deletes.</summary>
    public static string Repository(string name) => $"{Repositories}/{EscapeName(name)}";

    /// <summary><c>POST ?dryRun=</c> runs a garbage collection now; <c>GET</c> lists the last runs.</summary>
    public const string GcRuns = AdminApiPaths.Prefix + "/gc/runs";

    /// <summary><c>GET</c>: the repository's images as ECR's DescribeImages.</summary>
    public static string Images(string repository) => $"{AdminApiPaths.Prefix}/images/{EscapeName(repository)}";

    /// <summary>A repository name in a path: each component escaped, the slashes kept.</summary>
    public static string EscapeName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return string.Join('/', name.Split('/').Select(Uri.EscapeDataString));
    }
}

/// <summary>An ECR tag mutability exclusion filter.</summary>
/// <param name="FilterType">Always <c>WILDCARD</c>.</param>
/// <param name="Filter">1-128 characters of <c>[0-9a-zA-Z._*-]</c>; <c>*</c> matches any run of characters.</param>
public sealed record TagMutabilityExclusionFilter(string? FilterType, string? Filter);

/// <summary>A repository as ECR's DescribeRepositories shows it, with Berth's image count.</summary>
/// <param name="RepositoryName">The name, e.g. <c>team-a/app</c>.</param>
/// <param name="CreatedAt">When it was created (by a push or explicitly).</param>
/// <param name="ImageTagMutability"><c>MUTABLE</c>, <c>IMMUTABLE</c>, <c>IMMUTABLE_WITH_EXCLUSION</c> or <c>MUTABLE_WITH_EXCLUSION</c>.</param>
/// <param name="ImageTagMutabilityExclusionFilters">The tags the mutability setting does not apply to.</param>
/// <param name="Description">What it holds.</param>
/// <param name="ImageCount">How many manifests it holds.</param>
public sealed record RepositoryDescription(
    string RepositoryName,
    DateTimeOffset CreatedAt,
    string ImageTagMutability,
    IReadOnlyList<TagMutabilityExclusionFilter> ImageTagMutabilityExclusionFilters,
    string? Description,
    int ImageCount);

/// <summary>The body of <c>POST /repositories</c> (ECR's CreateRepository).</summary>
/// <param name="RepositoryName">The name.</param>
/// <param name="ImageTagMutability">Defaults to <c>MUTABLE</c>.</param>
/// <param name="ImageTagMutabilityExclusionFilters">Only with a <c>*_WITH_EXCLUSION</c> mutability.</param>
/// <param name="Description">What it holds.</param>
public sealed record CreateRepositoryRequest(
    string? RepositoryName,
    string? ImageTagMutability = null,
    IReadOnlyList<TagMutabilityExclusionFilter>? ImageTagMutabilityExclusionFilters = null,
    string? Description = null);

/// <summary>The body of <c>PATCH /repositories/{name}</c>: what is given replaces the stored value, what is null stays.</summary>
/// <param name="ImageTagMutability">The new mutability.</param>
/// <param name="ImageTagMutabilityExclusionFilters">The new filters (empty clears them).</param>
/// <param name="Description">The new description (empty clears it).</param>
public sealed record UpdateRepositoryRequest(
    string? ImageTagMutability = null,
    IReadOnlyList<TagMutabilityExclusionFilter>? ImageTagMutabilityExclusionFilters = null,
    string? Description = null);

/// <summary>ECR's repository creation template: the settings of repositories a push creates under a prefix.</summary>
/// <param name="Prefix">A namespace (<c>team-a/</c>) or <c>ROOT</c> for every repository no other template matches.</param>
/// <param name="ImageTagMutability">The mutability new repositories get.</param>
/// <param name="ImageTagMutabilityExclusionFilters">Their exclusion filters.</param>
/// <param name="Description">Their description.</param>
/// <param name="CreateOnPush">Whether a push to a repository that does not exist creates it.</param>
/// <param name="CreatedAt">When the template was created (ignored in a request).</param>
/// <param name="UpdatedAt">When it last changed (ignored in a request).</param>
public sealed record RepositoryCreationTemplate(
    string? Prefix,
    string? ImageTagMutability = null,
    IReadOnlyList<TagMutabilityExclusionFilter>? ImageTagMutabilityExclusionFilters = null,
    string? Description = null,
    bool CreateOnPush = true,
    DateTimeOffset? CreatedAt = null,
    DateTimeOffset? UpdatedAt = null);

/// <summary>One image of a repository, as ECR's DescribeImages shows it.</summary>
/// <param name="ImageDigest">The manifest's digest.</param>
/// <param name="ImageTags">The tags that point at it.</param>
/// <param name="ImageSizeInBytes">Compressed size: the config and layers the manifest references (an index: those of its child manifests, each blob once).</param>
/// <param name="ImagePushedAt">When the manifest was first pushed.</param>
/// <param name="LastRecordedPullTime">When it was last pulled (recorded in batches, so up to a minute late); null when never.</param>
/// <param name="ImageManifestMediaType">The manifest's media type.</param>
/// <param name="ArtifactMediaType">The artifact type (OCI 1.1), or the config's media type when there is none.</param>
public sealed record ImageDetail(
    string ImageDigest,
    IReadOnlyList<string> ImageTags,
    long ImageSizeInBytes,
    DateTimeOffset ImagePushedAt,
    DateTimeOffset? LastRecordedPullTime,
    string ImageManifestMediaType,
    string? ArtifactMediaType);

/// <summary>The JSON of the operations API, generated at compile time (camelCase, web defaults).</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(RepositoryDescription))]
[JsonSerializable(typeof(List<RepositoryDescription>))]
[JsonSerializable(typeof(CreateRepositoryRequest))]
[JsonSerializable(typeof(UpdateRepositoryRequest))]
[JsonSerializable(typeof(RepositoryCreationTemplate))]
[JsonSerializable(typeof(List<RepositoryCreationTemplate>))]
[JsonSerializable(typeof(ImageDetail))]
[JsonSerializable(typeof(List<ImageDetail>))]
[JsonSerializable(typeof(GcRunReport))]
[JsonSerializable(typeof(List<GcRunSummary>))]
[JsonSerializable(typeof(LifecyclePolicyRequest))]
[JsonSerializable(typeof(LifecyclePolicyResponse))]
[JsonSerializable(typeof(LifecyclePolicyPreviewResponse))]
[JsonSerializable(typeof(LifecycleRunSummary))]
[JsonSerializable(typeof(List<LifecycleRunSummary>))]
public sealed partial class RegistryOperationsJsonContext : JsonSerializerContext;
