namespace Berth.Registry.Lifecycle;

/// <summary>Which images a rule looks at (ECR's <c>tagStatus</c>).</summary>
internal enum TagStatus
{
    Tagged,
    Untagged,
    Any,
}

/// <summary>How a rule counts (ECR's <c>countType</c>).</summary>
internal enum CountType
{
    /// <summary>Keep the <c>countNumber</c> youngest images the rule selects; expire the rest.</summary>
    ImageCountMoreThan,

    /// <summary>Expire images pushed more than <c>countNumber</c> days ago.</summary>
    SinceImagePushed,

    /// <summary>Expire images last pulled (or, never pulled, pushed) more than <c>countNumber</c> days ago.</summary>
    SinceImagePulled,
}

/// <summary>One rule of a lifecycle policy, parsed and validated. The only action is ECR's <c>expire</c>.</summary>
internal sealed record LifecycleRule(
    int Priority,
    string? Description,
    TagStatus TagStatus,
    IReadOnlyList<string> TagPrefixes,
    IReadOnlyList<string> TagPatterns,
    CountType CountType,
    int CountNumber)
{
    /// <summary>Whether the image's tags meet the rule's tagging requirements (ECR: every prefix or pattern matches one of the tags).</summary>
    public bool Selects(IReadOnlyList<string> tags) => TagStatus switch
    {
        TagStatus.Any => true,
        TagStatus.Untagged => tags.Count == 0,
        _ => tags.Count > 0
            && TagPrefixes.All(prefix => tags.Any(tag => tag.StartsWith(prefix, StringComparison.Ordinal)))
            && TagPatterns.All(pattern => tags.Any(tag => Repositories.WildcardFilter.Matches(pattern, tag))),
    };

    /// <summary>The selection in ECR's words, for reasons and logs.</summary>
    public string Selection => TagStatus switch
    {
        TagStatus.Any => "any image",
        TagStatus.Untagged => "untagged images",
        _ when TagPrefixes.Count > 0 => $"images tagged with prefixes [{string.Join(", ", TagPrefixes)}]",
        _ => $"images with tags matching [{string.Join(", ", TagPatterns)}]",
    };
}

/// <summary>A lifecycle policy: its rules in priority order (lowest <c>rulePriority</c> first), and the text as it was put.</summary>
internal sealed record LifecyclePolicy(string Text, IReadOnlyList<LifecycleRule> Rules);
