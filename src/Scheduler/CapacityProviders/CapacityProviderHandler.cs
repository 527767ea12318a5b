using Berth.Scheduler.Fargate;
using Berth.Scheduler.Kernel;

namespace Berth.Scheduler.CapacityProviders;

/// <summary>
/// ECS's capacity provider calls on the kernel's records: validate, then change them through the cluster's commit path.
/// A provider wraps one host group of its cluster, and a group is wrapped by at most one provider (as ECS allows one
/// provider per Auto Scaling group). A refused call changes nothing.
/// </summary>
internal sealed class CapacityProviderHandler(StateKernel kernel)
{
    /// <summary>
    /// Creates a provider over the host group named (or given by ARN) in <paramref name="group"/>; answers what
    /// <paramref name="view"/> makes of it under the lock (as every call here: a record is only read under it).
    /// </summary>
    public Task<T> CreateAsync<T>(string cluster, string name, string group, ManagedScaling scaling, bool terminationProtection, bool draining, Func<CapacityProviderRecord, ClusterState, T> view)
    {
        Ecs.CheckName(name);
        if (group.Length == 0)
        {
            throw Ecs.InvalidParameter("autoScalingGroupProvider.autoScalingGroupArn is required.");
        }

        Ecs.Check(scaling);
        CheckProtection(scaling, terminationProtection);
        return CommitAsync(cluster, tx =>
        {
            var state = tx.Cluster;
            RequireCluster(state);
            if (state.CapacityProviders.ContainsKey(name))
            {
                throw new StateException(StateError.AlreadyExists, $"ClientException: A capacity provider with the name '{name}' already exists in cluster '{state.Name}'.");
            }

            var wrapped = FindGroup(state, group)
                ?? throw Ecs.InvalidParameter($"The specified Auto Scaling group '{Ecs.Printable(group)}' does not exist in cluster '{state.Name}' (berth hostgroup create makes one).");
            if (state.CapacityProviders.Values.FirstOrDefault(p => p.HostGroup == wrapped.Name) is { } other)
            {
                throw Ecs.Client($"The specified Auto Scaling group '{wrapped.Name}' is already in use by capacity provider '{other.Name}'.");
            }

            var provider = new CapacityProviderRecord
            {
                Cluster = state.Name,
                Name = name,
                HostGroup = wrapped.Name,
                CreatedAt = tx.Now,
                Scaling = scaling,
                TerminationProtection = terminationProtection,
                Draining = draining,
            };
            tx.PutCapacityProvider(provider);
            return view(provider, state);
        });
    }

    /// <summary>
    /// Changes a provider's settings: <paramref name="change"/> gives the new ones from the current (under the lock).
    /// <paramref name="group"/>, when given, must be the provider's own (ECS cannot move a provider to another group).
    /// </summary>
    public Task<T> UpdateAsync<T>(string cluster, string name, string group, Func<CapacityProviderRecord, (ManagedScaling Scaling, bool TerminationProtection, bool Draining)> change, Func<CapacityProviderRecord, ClusterState, T> view) =>
        CommitAsync(cluster, tx =>
        {
            var state = tx.Cluster;
            RequireCluster(state);
            var provider = Provider(state, name, "updated");
            if (group.Length > 0 && FindGroup(state, group)?.Name != provider.HostGroup)
            {
                throw Ecs.InvalidParameter($"The Auto Scaling group of capacity provider '{provider.Name}' cannot be changed (it is '{provider.HostGroup}').");
            }

            var (scaling, protection, draining) = change(provider);
            Ecs.Check(scaling);
            CheckProtection(scaling, protection);
            provider.Scaling = scaling;
            provider.TerminationProtection = protection;
            provider.Draining = draining;
            provider.UpdateStatus = "UPDATE_COMPLETE";
            tx.Save(provider);
            return view(provider, state);
        });

    /// <summary>Deletes a provider; refused (naming the user) while the cluster's capacity providers name it.</summary>
    public Task<T> DeleteAsync<T>(string cluster, string name, Func<CapacityProviderRecord, ClusterState, T> view) =>
        CommitAsync(cluster, tx =>
        {
            var state = tx.Cluster;
            RequireCluster(state);
            var provider = Provider(state, name, "deleted");
            if (state.Record!.CapacityProviders.Contains(provider.Name))
            {
                throw Ecs.InUse($"The capacity provider '{provider.Name}' is in use by cluster '{state.Name}'; remove it from the cluster's capacity providers (PutClusterCapacityProviders) first.");
            }

            var answer = view(provider, state);
            tx.RemoveCapacityProvider(provider.Name);
            return answer;
        });

    /// <summary>
    /// Replaces the cluster's capacity providers and default strategy (ECS's PutClusterCapacityProviders): every name
    /// must be a provider of the cluster or a Fargate one, and the strategy may name only the providers given.
    /// </summary>
    public Task<(IReadOnlyList<string> Providers, IReadOnlyList<StrategyItem> Strategy)> PutClusterAsync(string cluster, IReadOnlyList<string> providers, IReadOnlyList<StrategyItem> strategy)
    {
        Ecs.Check(strategy);
        var names = providers.Select(Arns.Id).ToList();
        if (names.Distinct(StringComparer.Ordinal).Count() != names.Count)
        {
            throw Ecs.InvalidParameter("The capacity providers of a cluster must each be given once.");
        }

        Ecs.CheckForCluster(strategy, names);

        return CommitAsync(cluster, tx =>
        {
            var state = tx.Cluster;
            RequireCluster(state);
            foreach (var name in names)
            {
                if (!Ecs.FargateProviders.Contains(name) && !state.CapacityProviders.ContainsKey(name))
                {
                    throw Ecs.NotFound(name);
                }
            }

            var record = state.Record!;
            foreach (var removed in record.CapacityProviders.Except(names, StringComparer.Ordinal))
            {
                // ECS: a provider a service's strategy names stays associated until the service stops naming it.
                if (state.Services.Values.FirstOrDefault(s => s.Status != Statuses.Inactive && s.CapacityProviderStrategy.Any(i => i.Provider == removed)) is { } service)
                {
                    throw Ecs.InUse($"The specified capacity provider '{removed}' is in use by service '{service.Name}' and cannot be removed. Update the service's capacity provider strategy first.");
                }
            }

            record.CapacityProviders = names;
            record.DefaultStrategy = strategy;
            tx.Save(record);
            return (record.CapacityProviders, record.DefaultStrategy);
        });
    }

    /// <summary>
    /// Reads the cluster's providers (all, or the named ones: the rest come back as missing) under its lock:
    /// <paramref name="view"/> must copy what it keeps.
    /// </summary>
    public (List<T> Found, List<string> Missing) Read<T>(string cluster, IReadOnlyCollection<string> names, Func<CapacityProviderRecord, ClusterState, T> view) =>
        kernel.ReadCluster(cluster, state =>
        {
            if (state?.IsActive != true)
            {
                return cluster == "default" ? ([], [.. names]) : throw ClusterNotFound(cluster);
            }

            if (names.Count == 0)
            {
                return (state.CapacityProviders.Values.OrderBy(p => p.Name, StringComparer.Ordinal).Select(p => view(p, state)).ToList(), []);
            }

            var found = new List<T>();
            var missing = new List<string>();
            foreach (var name in names)
            {
                if (state.CapacityProviders.TryGetValue(Arns.Id(name), out var provider))
                {
                    found.Add(view(provider, state));
                }
                else
                {
                    missing.Add(name);
                }
            }

            return (found, missing);
        });

    // The kernel refuses a name it never saw in its own words; ECS says ClusterNotFoundException.
    private Task<T> CommitAsync<T>(string cluster, Func<ClusterTransaction, T> change) =>
        kernel.ReadCluster(cluster, state => state is not null) ? kernel.CommitAsync(cluster, change) : throw ClusterNotFound(cluster);

    private static void CheckProtection(ManagedScaling scaling, bool terminationProtection)
    {
        if (terminationProtection && !scaling.Enabled)
        {
            throw Ecs.InvalidParameter("The managed termination protection setting for the capacity provider is invalid. To enable managed termination protection for a capacity provider, managed scaling must be enabled.");
        }
    }

    private static void RequireCluster(ClusterState state)
    {
        if (!state.IsActive)
        {
            throw ClusterNotFound(state.Name);
        }
    }

    private static StateException ClusterNotFound(string cluster) => StateException.NotFound($"ClusterNotFoundException: Cluster '{cluster}' not found.");

    /// <summary>A provider the user may change: ECS's FARGATE and FARGATE_SPOT are reserved (the pool's record included).</summary>
    private static CapacityProviderRecord Provider(ClusterState state, string reference, string verb)
    {
        var name = Arns.Id(reference);
        if (FargatePool.IsFargate(name))
        {
            throw Ecs.Client($"The specified capacity provider '{name}' is reserved and can't be {verb}.");
        }

        return state.CapacityProviders.TryGetValue(name, out var provider) ? provider : throw Ecs.NotFound(reference);
    }

    /// <summary>A host group of the cluster by name or by its ARN (never the FARGATE pool's: no user provider may wrap it).</summary>
    private static HostGroupRecord? FindGroup(ClusterState state, string reference)
    {
        var group = reference.StartsWith("arn:", StringComparison.Ordinal)
            ? state.HostGroups.Values.FirstOrDefault(g => g.Arn == reference)
            : state.HostGroups.GetValueOrDefault(reference);
        return group is null || FargatePool.IsPoolGroup(group) ? null : group;
    }
}
