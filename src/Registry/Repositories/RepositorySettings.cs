namespace Berth.Registry.Repositories;

/// <summary>A repository's settings: tag mutability with its exclusion filters, and a description.</summary>
internal sealed record RepositorySettings(TagMutability Mutability, IReadOnlyList<string> Exclusions, string? Description)
{
    public const int MaxDescriptionLength = 1024;

    // A bound on exclusion filters per repository: a handful is what tag conventions need.
    public const int MaxExclusions = 5;

    public static readonly RepositorySettings Default = new(TagMutability.Mutable, [], null);

    public bool IsDefault => Mutability == TagMutability.Mutable && Exclusions.Count == 0 && Description is null;

    /// <summary>Whether <paramref name="tag"/>, once it exists, may neither move to another manifest nor be deleted.</summary>
    public bool IsImmutable(string tag) => Mutability switch
    {
        TagMutability.Immutable => true,
        TagMutability.ImmutableWithExclusion => !Exclusions.Any(filter => WildcardFilter.Matches(filter, tag)),
        TagMutability.MutableWithExclusion => Exclusions.Any(filter => WildcardFilter.Matches(filter, tag)),
        _ => false,
    };

    /// <summary>Checks the settings as ECR's CreateRepository does; null when they are valid, else ECR's wording of the problem.</summary>
    public string? Problem()
    {
        var withExclusion = Mutability is TagMutability.ImmutableWithExclusion or TagMutability.MutableWithExclusion;
        if (withExclusion && Exclusions.Count == 0)
        {
            return $"imageTagMutabilityExclusionFilters must be specified when imageTagMutability is {TagMutabilityNames.ToName(Mutability)}";
        }

        if (!withExclusion && Exclusions.Count > 0)
        {
            return "imageTagMutabilityExclusionFilters can only be specified when imageTagMutability is IMMUTABLE_WITH_EXCLUSION or MUTABLE_WITH_EXCLUSION";
        }

        if (Exclusions.Count > MaxExclusions)
        {
            return $"at most {MaxExclusions} imageTagMutabilityExclusionFilters are allowed";
        }

        if (Exclusions.FirstOrDefault(filter => !WildcardFilter.IsValid(filter)) is { } bad)
        {
            return $"Invalid parameter at 'imageTagMutabilityExclusionFilters.filter' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[0-9a-zA-Z._*-]{{1,128}}$ ('{bad}')";
        }

        return Description is { Length: > MaxDescriptionLength }
            ? $"description is limited to {MaxDescriptionLength} characters"
            : null;
    }
}

/// <summary>A repository as stored, for the admin API.</summary>
internal sealed record RepositoryRecord(long Id, string Name, DateTime CreatedAt, RepositorySettings Settings, int ImageCount);

/// <summary>
/// ECR's repository creation template: the settings a repository gets when a push creates it, for repositories under
/// <see cref="Prefix"/> (<c>team-a/</c>; <c>ROOT</c> for every repository), and whether a push may create it at all.
/// </summary>
internal sealed record CreationTemplate(string Prefix, RepositorySettings Settings, bool CreateOnPush, DateTime CreatedAt, DateTime UpdatedAt)
{
    /// <summary>ECR's name for the template that applies to every repository no other template's prefix matches.</summary>
    public const string Root = "ROOT";

    public bool AppliesTo(string repository) =>
        Prefix == Root || repository.StartsWith(Prefix, StringComparison.Ordinal);

    /// <summary>ROOT or a repository name prefix ending in '/' (ECR's prefixes are namespaces).</summary>
    public static bool IsValidPrefix([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] string? prefix) =>
        prefix == Root
        || (prefix is { Length: > 1 and <= 256 } && prefix[^1] == '/' && Berth.Core.Images.RepositoryName.IsValid(prefix[..^1]));
}

/// <summary>What deleting a repository did.</summary>
internal enum RepositoryDeletion
{
    Deleted,
    NotFound,
    NotEmpty,
}
