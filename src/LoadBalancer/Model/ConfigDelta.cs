using V1 = Berth.Scheduler.V1;

namespace Berth.LoadBalancer.Model;

/// <summary>Applies a watch stream's <see cref="V1.ConfigDelta"/> to a copy of a wire configuration.</summary>
internal static class ConfigDeltaApplier
{
    /// <summary>A new configuration with the changes applied in order; <paramref name="current"/> is not touched.</summary>
    public static V1.BalancerConfig Apply(V1.BalancerConfig current, V1.ConfigDelta delta)
    {
        var next = current.Clone();
        for (var i = 0; i < delta.Changes.Count; i++)
        {
            var change = delta.Changes[i];
            switch (change.ChangeCase)
            {
                case V1.ConfigChange.ChangeOneofCase.LoadBalancer:
                    next.LoadBalancer = change.LoadBalancer;
                    break;
                case V1.ConfigChange.ChangeOneofCase.ListenerUpserted:
                    Upsert(next.Listeners, change.ListenerUpserted, l => l.ListenerArn);
                    break;
                case V1.ConfigChange.ChangeOneofCase.ListenerRemoved:
                    Remove(next.Listeners, l => l.ListenerArn == change.ListenerRemoved);
                    Remove(next.Rules, r => r.ListenerArn == change.ListenerRemoved);
                    break;
                case V1.ConfigChange.ChangeOneofCase.RuleUpserted:
                    Upsert(next.Rules, change.RuleUpserted, r => r.RuleArn);
                    break;
                case V1.ConfigChange.ChangeOneofCase.RuleRemoved:
                    Remove(next.Rules, r => r.RuleArn == change.RuleRemoved);
                    break;
                case V1.ConfigChange.ChangeOneofCase.TargetGroupUpserted:
                    var upserted = change.TargetGroupUpserted;
                    var arn = upserted.TargetGroup?.TargetGroupArn ?? "";
                    var existing = next.TargetGroups.FirstOrDefault(g => g.TargetGroup.TargetGroupArn == arn);
                    if (existing is null)
                    {
                        next.TargetGroups.Add(upserted);
                    }
                    else
                    {
                        // The protocol: an upsert of a known group changes its settings, never its targets.
                        existing.TargetGroup = upserted.TargetGroup;
                    }

                    break;
                case V1.ConfigChange.ChangeOneofCase.TargetGroupRemoved:
                    Remove(next.TargetGroups, g => g.TargetGroup.TargetGroupArn == change.TargetGroupRemoved);
                    break;
                case V1.ConfigChange.ChangeOneofCase.TargetUpserted:
                    var group = FindGroup(next, change.TargetUpserted, i);
                    Upsert(group.Targets, change.TargetUpserted.Target, t => TargetKey(t.Target, group.TargetGroup.Port));
                    break;
                case V1.ConfigChange.ChangeOneofCase.TargetRemoved:
                    var owner = FindGroup(next, change.TargetRemoved, i);
                    var key = TargetKey(change.TargetRemoved.Target?.Target, owner.TargetGroup.Port);
                    Remove(owner.Targets, t => TargetKey(t.Target, owner.TargetGroup.Port) == key);
                    break;
                case V1.ConfigChange.ChangeOneofCase.CertificateUpserted:
                    Upsert(next.Certificates, change.CertificateUpserted, c => c.CertificateArn);
                    break;
                case V1.ConfigChange.ChangeOneofCase.CertificateRemoved:
                    Remove(next.Certificates, c => c.CertificateArn == change.CertificateRemoved);
                    break;
                default:
                    throw new ConfigValidationException($"changes[{i}]", "no change is set");
            }
        }

        return next;
    }

    private static V1.TargetGroupState FindGroup(V1.BalancerConfig config, V1.TargetChange change, int index) =>
        config.TargetGroups.FirstOrDefault(g => g.TargetGroup.TargetGroupArn == change.TargetGroupArn)
        ?? throw new ConfigValidationException($"changes[{index}].target_group_arn", $"target group '{change.TargetGroupArn}' is not in the configuration (TargetGroupNotFound)");

    private static string TargetKey(V1.TargetDescription? target, int groupPort) =>
        target is null ? "" : $"{target.Id}:{(target.Port == 0 ? groupPort : target.Port)}";

    private static void Upsert<T>(IList<T> list, T item, Func<T, string> key)
    {
        var k = key(item);
        for (var i = 0; i < list.Count; i++)
        {
            if (key(list[i]) == k)
            {
                list[i] = item;
                return;
            }
        }

        list.Add(item);
    }

    private static void Remove<T>(IList<T> list, Func<T, bool> match)
    {
        for (var i = list.Count - 1; i >= 0; i--)
        {
            if (match(list[i]))
            {
                list.RemoveAt(i);
            }
        }
    }
}
