namespace Berth.Registry.Lifecycle;

/// <summary>
/// An image as lifecycle rules see it: a manifest of the repository that is neither a child of one of its indexes nor
/// a referrer of one of its manifests (ECR: a manifest list's images go with the list, reference artifacts with their
/// subject; here the garbage collector takes both once their parent is gone).
/// </summary>
internal sealed record LifecycleImage(long Id, string Digest, IReadOnlyList<string> Tags, DateTime PushedAt, DateTime? LastPulledAt);

/// <summary>An image a rule expires, and why in words.</summary>
internal sealed record LifecycleExpiry(LifecycleImage Image, LifecycleRule Rule, string Reason);

/// <summary>
/// ECR's lifecycle policy evaluation, a pure function of the policy, the images and the time:
/// <list type="bullet">
/// <item>every rule identifies the images whose tags meet its tagging requirements, and among them, the ones its
/// count marks (<c>imageCountMoreThan</c>: all but the youngest N by push time; <c>sinceImagePushed</c>: pushed more
/// than N days ago; <c>sinceImagePulled</c>: last pulled, or never pulled and pushed, more than N days ago);</item>
/// <item>rules apply in priority order, lowest <c>rulePriority</c> first, and an image is expired by at most one rule;</item>
/// <item>an image that meets the tagging requirements of a rule cannot be expired by a later rule, though later rules
/// still count it ("identify it as if it had not been expired");</item>
/// <item>older images go before younger ones (results are ordered by push time).</item>
/// </list>
/// </summary>
internal static class LifecycleEvaluator
{
    public static IReadOnlyList<LifecycleExpiry> Evaluate(LifecyclePolicy policy, IReadOnlyList<LifecycleImage> images, DateTime now)
    {
        // Youngest first: the order imageCountMoreThan keeps in. Equal push times fall back to push order (row id).
        var youngestFirst = images.OrderByDescending(i => i.PushedAt).ThenByDescending(i => i.Id).ToList();
        var identified = new HashSet<long>();
        var expired = new Dictionary<long, LifecycleExpiry>();
        foreach (var rule in policy.Rules)
        {
            var selected = youngestFirst.Where(image => rule.Selects(image.Tags)).ToList();
            for (var rank = 0; rank < selected.Count; rank++)
            {
                var image = selected[rank];
                if (identified.Contains(image.Id) || Marks(rule, image, rank, selected.Count, now) is not { } reason)
                {
                    continue;
                }

                expired[image.Id] = new LifecycleExpiry(image, rule, reason);
            }

            identified.UnionWith(selected.Select(i => i.Id));
        }

        return [.. expired.Values.OrderBy(e => e.Image.PushedAt).ThenBy(e => e.Image.Id)];
    }

    // Null when the rule's count keeps the image; else why it marks it.
    private static string? Marks(LifecycleRule rule, LifecycleImage image, int rank, int selected, DateTime now)
    {
        var limit = TimeSpan.FromDays(rule.CountNumber);
        switch (rule.CountType)
        {
            case CountType.ImageCountMoreThan when rank >= rule.CountNumber:
                return $"rule {rule.Priority}: {Ordinal(rank + 1)} youngest of {selected} {rule.Selection}; imageCountMoreThan {rule.CountNumber}";
            case CountType.SinceImagePushed when now - image.PushedAt > limit:
                return $"rule {rule.Priority}: {rule.Selection}; pushed {Days(now - image.PushedAt)} ago, sinceImagePushed {rule.CountNumber} days";
            case CountType.SinceImagePulled when now - (image.LastPulledAt ?? image.PushedAt) > limit:
                return image.LastPulledAt is { } pulled
                    ? $"rule {rule.Priority}: {rule.Selection}; last pulled {Days(now - pulled)} ago, sinceImagePulled {rule.CountNumber} days"
                    : $"rule {rule.Priority}: {rule.Selection}; never pulled, pushed {Days(now - image.PushedAt)} ago, sinceImagePulled {rule.CountNumber} days";
            default:
                return null;
        }
    }

    private static string Days(TimeSpan age) =>
        age.TotalDays >= 2 ? $"{(int)age.TotalDays} days" : age.TotalHours >= 2 ? $"{(int)age.TotalHours} hours" : $"{(int)age.TotalMinutes} minutes";

    private static string Ordinal(int n) => (n % 100) switch
    {
        11 or 12 or 13 => $"{n}th",
        _ => (n % 10) switch { 1 => $"{n}st", 2 => $"{n}nd", 3 => $"{n}rd", _ => $"{n}th" },
    };
}
