namespace Berth.LoadBalancer.Model;

/// <summary>
/// One applied configuration and what it changed: everything (a snapshot, or a delta that touched listeners, rules,
/// certificates, the load balancer or a group's settings or membership), or only the targets of some groups — the
/// common case under registration churn, which consumers apply group by group instead of rebuilding their state.
/// </summary>
/// <param name="Previous">The model served before, null for the first one.</param>
/// <param name="Current">The model served now.</param>
/// <param name="TargetsChangedIn">
/// When not null, the only difference from <paramref name="Previous"/> is the targets of these groups (every other
/// <see cref="TargetGroupModel"/> and the listeners are the previous model's own objects).
/// </param>
internal sealed record ModelChange(BalancerModel? Previous, BalancerModel Current, IReadOnlySet<string>? TargetsChangedIn)
{
    /// <summary>A change that replaces everything.</summary>
    public static ModelChange Whole(BalancerModel? previous, BalancerModel current) => new(previous, current, null);

    /// <summary>Whether only the targets of <see cref="TargetsChangedIn"/> changed.</summary>
    public bool OnlyTargets => Previous is not null && TargetsChangedIn is not null;
}
