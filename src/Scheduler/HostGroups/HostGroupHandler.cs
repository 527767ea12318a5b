using Berth.Scheduler.Fargate;
using Berth.Scheduler.Kernel;
using Berth.Scheduler.Provisioning;

namespace Berth.Scheduler.HostGroups;

/// <summary>
/// Auto Scaling's calls on the kernel's host group records: validate, then change them through the cluster's commit
/// path, then wake the <see cref="HostGroupReconciler"/>, which makes and retires the hosts. A refused call changes nothing.
/// </summary>
internal sealed class HostGroupHandler(StateKernel kernel, HostGroupProvisioner provisioner, HostGroupSignal signal)
{
    /// <summary>ECS: at most 10 custom attributes per container instance.</summary>
    public const int MaxAttributes = 10;

    /// <summary>Creates a group; its desired capacity is the minimum when not given (as Auto Scaling's is). Returns its ARN.</summary>
    public async Task<string> CreateAsync(string cluster, string name, int min, int max, int? desired, HostGroupSpec spec)
    {
        Asg.CheckName(name);
        if (name == FargatePool.Name)
        {
            throw Asg.Validation($"AutoScalingGroupName '{name}' is reserved: it is the host group of the FARGATE capacity provider's pool, which Berth manages.");
        }

        var size = new HostGroupSize(min, max, desired ?? min);
        size.Validate();
        Validate(cluster, spec);
        if (provisioner.Provisioning is null)
        {
            throw new StateException(StateError.FailedPrecondition,
                "ValidationError: No host provisioner is configured: host groups need Provisioning:Kind (lab or exec) in the scheduler's configuration (docs/provisioning.md).");
        }

        // The default cluster comes into being with its first host, as ECS's does; any other must have been created.
        var isDefault = cluster == "default";
        var arn = await kernel.CommitAsync(cluster, tx =>
        {
            if (isDefault)
            {
                tx.EnsureCluster();
            }

            tx.Cluster.RequireActive();
            if (tx.Cluster.HostGroups.ContainsKey(name))
            {
                throw Asg.AlreadyExists(name);
            }

            var group = new HostGroupRecord
            {
                Cluster = cluster,
                Name = name,
                Id = Guid.NewGuid().ToString(),
                CreatedAt = tx.Now,
                Size = size,
                Spec = spec,
                DesiredCause = $"At {Asg.At(tx.Now)} a user request created an AutoScalingGroup changing the desired capacity from 0 to {size.Desired}.",
            };
            tx.PutHostGroup(group);
            return group.Arn;
        }, create: isDefault);
        signal.Wake();
        return arn;
    }

    /// <summary>
    /// Changes a group's size or grace period (what is not given stays). As in Auto Scaling, a new minimum above the
    /// desired capacity (or a new maximum below it) moves the desired capacity with it when none is given.
    /// </summary>
    public async Task UpdateAsync(string cluster, string name, int? min, int? max, int? desired, TimeSpan? grace)
    {
        if (grace is { } g)
        {
            CheckGrace(g);
        }

        await kernel.CommitAsync(cluster, tx =>
        {
            var group = Group(tx.Cluster, name);
            if (group.Deleting)
            {
                throw Asg.Validation($"AutoScalingGroup {group.Name} is pending delete.");
            }

            var before = group.Size;
            var newMin = min ?? before.Min;
            var newMax = max ?? before.Max;
            var newDesired = desired ?? Math.Clamp(before.Desired, Math.Min(newMin, newMax), newMax);
            var size = new HostGroupSize(newMin, newMax, newDesired);
            size.Validate();
            if (grace is { } period)
            {
                group.Spec = group.Spec with { HealthCheckGracePeriod = period };
            }

            Resize(tx, group, size, $"At {Asg.At(tx.Now)} a user request update of AutoScalingGroup constraints to {size.Constraints} changing the desired capacity from {before.Desired} to {size.Desired}.");
            return 0;
        });
        signal.Wake();
    }

    /// <summary>
    /// Sets a group's size inside a transaction (a user's update, or a capacity provider's managed scaling); when the
    /// desired capacity moves, <paramref name="cause"/> becomes the first sentence of the activities that follow. The
    /// caller wakes the reconciler once the change is committed.
    /// </summary>
    public static void Resize(ClusterTransaction tx, HostGroupRecord group, HostGroupSize size, string cause)
    {
        if (size.Desired != group.Size.Desired)
        {
            group.DesiredCause = cause;
        }

        group.Size = size;
        tx.Save(group);
    }

    /// <summary>
    /// Deletes a group. Without <paramref name="force"/> it must own no host (ResourceInUse, or ScalingActivityInProgress
    /// while one is being made or retired); with it, every host is terminated first and the group goes after the last.
    /// </summary>
    public async Task DeleteAsync(string cluster, string name, bool force)
    {
        await kernel.CommitAsync(cluster, tx =>
        {
            var group = Group(tx.Cluster, name);
            // ECS keeps a capacity provider's group while the provider exists; the provider goes first.
            if (tx.Cluster.CapacityProviders.Values.FirstOrDefault(p => p.HostGroup == group.Name) is { } provider)
            {
                throw Asg.ResourceInUse($"AutoScalingGroup {group.Name} is used by capacity provider '{provider.Name}'; delete the capacity provider first.");
            }

            if (group.Hosts.Count == 0)
            {
                tx.RemoveHostGroup(name);
                return 0;
            }

            if (!force)
            {
                throw group.Activities.Any(a => a.Status == ActivityStatus.InProgress) ? Asg.ActivityInProgress() : Asg.ResourceInUse();
            }

            if (!group.Deleting)
            {
                group.Deleting = true;
                group.DesiredCause = $"At {Asg.At(tx.Now)} a user request deleted the AutoScalingGroup with ForceDelete changing the desired capacity from {group.Size.Desired} to 0.";
                group.Size = new HostGroupSize(0, 0, 0);
                tx.Save(group);
            }

            return 0;
        });
        signal.Wake();
    }

    /// <summary>
    /// Reads the cluster's groups (or the named ones; an unknown name is simply absent, as Auto Scaling answers) under its
    /// lock: <paramref name="view"/> must copy what it keeps.
    /// </summary>
    public List<T> Read<T>(string cluster, IReadOnlyCollection<string> names, Func<HostGroupRecord, ClusterState, T> view) =>
        kernel.ReadCluster(cluster, state =>
        {
            if (state?.IsActive != true)
            {
                // The default cluster that nothing created yet simply has no groups.
                return cluster == "default" ? [] : throw StateException.NotFound($"ClusterNotFoundException: Cluster '{cluster}' not found.");
            }

            // The FARGATE pool's group is the platform's, not the user's (ECS never shows Fargate capacity).
            return state.HostGroups.Values
                .Where(g => !FargatePool.IsPoolGroup(g))
                .Where(g => names.Count == 0 || names.Contains(g.Name))
                .OrderBy(g => g.Name, StringComparer.Ordinal)
                .Select(g => view(g, state))
                .ToList();
        });

    private static HostGroupRecord Group(ClusterState state, string name)
    {
        state.RequireActive();
        return state.HostGroups.TryGetValue(name, out var group) && !FargatePool.IsPoolGroup(group) ? group : throw Asg.NotFound(name);
    }

    private static void Validate(string cluster, HostGroupSpec spec)
    {
        CheckGrace(spec.HealthCheckGracePeriod);
        if (spec.Zones.Count > 16 || spec.Zones.Distinct(StringComparer.Ordinal).Count() != spec.Zones.Count)
        {
            throw Asg.Validation("AvailabilityZones: at most 16, each given once.");
        }

        if (spec.Attributes.Count > MaxAttributes)
        {
            throw Asg.Validation($"Attributes: at most {MaxAttributes} custom attributes per host (ECS's limit per container instance).");
        }

        // The provisioner's request rules are the group's: checked once here, with a stand-in name and token.
        foreach (var zone in spec.Zones.DefaultIfEmpty(""))
        {
            if (zone.Length == 0 && spec.Zones.Count > 0)
            {
                throw Asg.Validation("AvailabilityZones: a zone must not be empty.");
            }

            var request = new HostRequest("h", cluster, new Uri("http://scheduler"), "token", zone, spec.InstanceType, spec.Attributes);
            if (request.Validate() is { } problem)
            {
                throw Asg.Validation(problem);
            }
        }
    }

    private static void CheckGrace(TimeSpan grace)
    {
        if (grace < TimeSpan.Zero || grace > TimeSpan.FromDays(7))
        {
            throw Asg.Validation($"HealthCheckGracePeriod: {grace.TotalSeconds} s must be between 0 and 604800 s.");
        }
    }
}
