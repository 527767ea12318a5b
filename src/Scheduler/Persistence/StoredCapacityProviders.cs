using Berth.Scheduler.Kernel;

namespace Berth.Scheduler.Persistence;

/// <summary>
/// Schema 1 of a capacity provider (capacity_providers.Document): the host group it wraps and its managed settings.
/// Its own shapes, not the API's messages nor the kernel's records, so either may change without rewriting rows.
/// </summary>
internal sealed class CapacityProviderDocument
{
    public int Schema { get; set; } = StoredDocuments.Schema;

    public string? HostGroup { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public bool ScalingEnabled { get; set; }

    public int TargetCapacity { get; set; }

    public int MinimumStep { get; set; }

    public int MaximumStep { get; set; }

    public long WarmupMs { get; set; }

    public bool TerminationProtection { get; set; }

    public bool Draining { get; set; }

    public string? UpdateStatus { get; set; }

    /// <summary>Managed scaling's low period start (Unix ms), absent when none runs; an additive field of schema 1.</summary>
    public long? LowSinceMs { get; set; }
}

/// <summary>Schema 1 of a cluster's capacity providers and default strategy (clusters.CapacityProviders).</summary>
internal sealed class ClusterCapacityDocument
{
    public int Schema { get; set; } = StoredDocuments.Schema;

    public List<string>? Providers { get; set; }

    public List<StrategyItemDocument>? Strategy { get; set; }
}

/// <summary>One item of a stored capacity provider strategy.</summary>
internal sealed class StrategyItemDocument
{
    public string? Provider { get; set; }

    public int Base { get; set; }

    public int Weight { get; set; }
}

/// <summary>Capacity provider records and a cluster's associations to and from their stored forms.</summary>
internal static class StoredCapacityProviders
{
    public static CapacityProviderRow ToRow(CapacityProviderRecord record) => new()
    {
        Cluster = record.Cluster,
        Name = record.Name,
        Document = StoredDocuments.Encode(new CapacityProviderDocument
        {
            HostGroup = record.HostGroup,
            CreatedAt = record.CreatedAt,
            ScalingEnabled = record.Scaling.Enabled,
            TargetCapacity = record.Scaling.TargetCapacity,
            MinimumStep = record.Scaling.MinimumStep,
            MaximumStep = record.Scaling.MaximumStep,
            WarmupMs = (long)record.Scaling.InstanceWarmup.TotalMilliseconds,
            TerminationProtection = record.TerminationProtection,
            Draining = record.Draining,
            UpdateStatus = record.UpdateStatus,
            LowSinceMs = record.LowSince?.ToUnixTimeMilliseconds(),
        }),
    };

    public static CapacityProviderRecord FromRow(CapacityProviderRow row)
    {
        var d = StoredDocuments.DecodeCapacityProvider(row.Document);
        return new CapacityProviderRecord
        {
            Cluster = row.Cluster,
            Name = row.Name,
            HostGroup = d.HostGroup ?? throw new InvalidDataException($"Capacity provider {row.Cluster}/{row.Name} names no host group."),
            CreatedAt = d.CreatedAt,
            Scaling = new ManagedScaling(d.ScalingEnabled, d.TargetCapacity, d.MinimumStep, d.MaximumStep, TimeSpan.FromMilliseconds(d.WarmupMs)),
            TerminationProtection = d.TerminationProtection,
            Draining = d.Draining,
            UpdateStatus = d.UpdateStatus ?? "",
            LowSince = d.LowSinceMs is { } ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null,
        };
    }

    /// <summary>The cluster's column: null when it has neither providers nor a default strategy (most clusters).</summary>
    public static byte[]? ToColumn(ClusterRecord cluster) =>
        cluster.CapacityProviders.Count == 0 && cluster.DefaultStrategy.Count == 0
            ? null
            : StoredDocuments.Encode(new ClusterCapacityDocument
            {
                Providers = [.. cluster.CapacityProviders],
                Strategy = [.. cluster.DefaultStrategy.Select(i => new StrategyItemDocument { Provider = i.Provider, Base = i.Base, Weight = i.Weight })],
            });

    public static void FromColumn(byte[]? column, ClusterRecord cluster)
    {
        if (column is null)
        {
            return;
        }

        var d = StoredDocuments.DecodeClusterCapacity(column);
        cluster.CapacityProviders = d.Providers ?? [];
        cluster.DefaultStrategy = [.. (d.Strategy ?? []).Select(i => new StrategyItem(i.Provider ?? "", i.Base, i.Weight))];
    }
}
