using System.Diagnostics.CodeAnalysis;

namespace Berth.Registry.Repositories;

/// <summary>Whether a repository's tags may move (ECR's image tag mutability).</summary>
internal enum TagMutability
{
    Mutable,
    Immutable,

    /// <summary>Immutable but for tags matching an exclusion filter.</summary>
    ImmutableWithExclusion,

    /// <summary>Mutable but for tags matching an exclusion filter.</summary>
    MutableWithExclusion,
}

/// <summary>ECR's names for <see cref="TagMutability"/>, as the admin API and the database spell them.</summary>
internal static class TagMutabilityNames
{
    public const string Mutable = "MUTABLE";
    public const string Immutable = "IMMUTABLE";
    public const string ImmutableWithExclusion = "IMMUTABLE_WITH_EXCLUSION";
    public const string MutableWithExclusion = "MUTABLE_WITH_EXCLUSION";

    public static string ToName(TagMutability mutability) => mutability switch
    {
        TagMutability.Immutable => Immutable,
        TagMutability.ImmutableWithExclusion => ImmutableWithExclusion,
        TagMutability.MutableWithExclusion => MutableWithExclusion,
        _ => Mutable,
    };

    public static bool TryParse([NotNullWhen(true)] string? name, out TagMutability mutability)
    {
        mutability = name switch
        {
            Mutable => TagMutability.Mutable,
            Immutable => TagMutability.Immutable,
            ImmutableWithExclusion => TagMutability.ImmutableWithExclusion,
            MutableWithExclusion => TagMutability.MutableWithExclusion,
            _ => (TagMutability)(-1),
        };
        return name is not null && mutability >= 0;
    }
}
