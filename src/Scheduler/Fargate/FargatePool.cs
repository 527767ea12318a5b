using Berth.Scheduler.CapacityProviders;
using Berth.Scheduler.HostGroups;
using Berth.Scheduler.Kernel;
using Berth.Scheduler.Placement;
using Berth.Scheduler.Services;
using Microsoft.Extensions.Options;

namespace Berth.Scheduler.Fargate;

/// <summary>
/// The FARGATE capacity provider's managed capacity: per cluster, an internal host group named <see cref="Name"/> (min 0,
/// max <see cref="FargatePoolOptions.MaxHosts"/>) wrapped by a capacity provider record of the same name, both created
/// the first time a FARGATE task needs them. The rest is the host group and capacity provider machinery: FARGATE tasks
/// are placed only on the group's hosts and wait in PROVISIONING while managed scaling (target 100 %, no warm-up,
/// termination protection on) grows it through the configured provisioner; the group shrinks once its hosts have been
/// more than its tasks need for <see cref="FargatePoolOptions.IdleTimeout"/>. Pool hosts carry <see cref="Attribute"/>,
/// which keeps every other task off them, and are hidden from the user's host group and instance lists.
/// Without a provisioner (or with <see cref="FargatePoolOptions.Enabled"/> false) there is no pool: FARGATE tasks are
/// placed on the user's instances, as before.
/// </summary>
internal sealed class FargatePool
{
    /// <summary>The pool's host group and capacity provider name (the provider ECS reserves).</summary>
    public const string Name = "FARGATE";

    /// <summary>The attribute every pool host registers with (value <c>true</c>).</summary>
    public const string Attribute = "berth.fargate-pool";

    /// <summary>Every placement that is not the pool's: an instance without the pool's attribute.</summary>
    private static readonly PlacementConstraint s_notPool = PlacementConstraint.MemberOf($"attribute:{Attribute} not_exists");

    public FargatePool(HostGroupProvisioner provisioner, IOptions<FargatePoolOptions> options)
        : this(provisioner.Provisioning is not null && options.Value.Enabled, options.Value)
    {
    }

    private FargatePool(bool enabled, FargatePoolOptions options)
    {
        Enabled = enabled;
        Options = options;
    }

    /// <summary>No pool (the scheduler without a provisioner; benchmarks and tools that build handlers by hand).</summary>
    public static FargatePool Off { get; } = new(false, new FargatePoolOptions());

    /// <summary>True when FARGATE tasks run on the pool (a provisioner is configured and the pool is not turned off).</summary>
    public bool Enabled { get; }

    public FargatePoolOptions Options { get; }

    /// <summary>The zones that are subnets of every cluster because the pool makes hosts there (none when it is off).</summary>
    public IReadOnlyCollection<string> SubnetZones => Enabled ? Options.Zones : [];

    /// <summary>FARGATE_SPOT shares FARGATE's pool: Berth has no spare capacity to sell cheaper, nor interruptions.</summary>
    public static bool IsFargate(string provider) => Ecs.FargateProviders.Contains(provider);

    public static bool IsPoolGroup(HostGroupRecord group) => group.Name == Name;

    public static bool IsPoolHost(InstanceRecord instance) => instance.CustomAttributes.ContainsKey(Attribute);

    /// <summary>
    /// The request as a placement outside the pool: unchanged in a cluster that has no pool (the common case costs
    /// nothing), else with a constraint that no pool host meets.
    /// </summary>
    public static PlacementRequest OutsidePool(ClusterState cluster, PlacementRequest request) =>
        cluster.HostGroups.ContainsKey(Name) ? request with { Constraints = [.. request.Constraints, s_notPool] } : request;

    /// <summary>The strategy FARGATE tasks launched by launch type are placed with when the pool is on.</summary>
    public static IReadOnlyList<StrategyItem> LaunchTypeStrategy { get; } = [new StrategyItem(Name, 0, 1)];

    /// <summary>
    /// The cluster's pool provider, made (with its host group) when missing, inside the caller's transaction; the group's
    /// bounds and host settings follow the options as they are now.
    /// </summary>
    public CapacityProviderRecord Ensure(ClusterTransaction tx)
    {
        var cluster = tx.Cluster;
        var spec = new HostGroupSpec(
            Options.InstanceType,
            [.. Options.Zones],
            new Dictionary<string, string>(StringComparer.Ordinal) { [Attribute] = "true" },
            HostGroupSpec.DefaultGracePeriod);
        if (!cluster.HostGroups.TryGetValue(Name, out var group))
        {
            group = new HostGroupRecord
            {
                Cluster = cluster.Name,
                Name = Name,
                Id = Guid.NewGuid().ToString(),
                CreatedAt = tx.Now,
                Size = new HostGroupSize(0, Options.MaxHosts, 0),
                Spec = spec,
                DesiredCause = $"At {Asg.At(tx.Now)} the FARGATE pool of cluster '{cluster.Name}' was created for its first FARGATE task.",
            };
            tx.PutHostGroup(group);
        }
        else if (group.Size.Max != Options.MaxHosts || group.Spec.InstanceType != spec.InstanceType || !group.Spec.Zones.SequenceEqual(spec.Zones))
        {
            // The settings changed since the pool was made: the next hosts follow them; a lower maximum retires hosts
            // through the group's scale-in (never one with tasks: termination protection).
            group.Spec = spec;
            group.Size = new HostGroupSize(0, Options.MaxHosts, Math.Min(group.Size.Desired, Options.MaxHosts));
            tx.Save(group);
        }

        if (!cluster.CapacityProviders.TryGetValue(Name, out var provider))
        {
            provider = new CapacityProviderRecord
            {
                Cluster = cluster.Name,
                Name = Name,
                HostGroup = Name,
                CreatedAt = tx.Now,
                // Target 100 %: the pool holds exactly the hosts its tasks need. No warm-up: a pool host counts as soon as
                // its agent registered, so a second host is asked for while the first still fills up.
                Scaling = new ManagedScaling(true, 100, 1, 10000, TimeSpan.Zero),
                // Never retire a host that runs a task.
                TerminationProtection = true,
                Draining = true,
            };
            tx.PutCapacityProvider(provider);
        }

        return provider;
    }

    /// <summary>
    /// A pool host could not be made: every service with FARGATE tasks waiting for the pool hears why (ECS's
    /// "unable to place a task" event, with the provisioner's words), at most once per repeat interval per message.
    /// </summary>
    public static void ReportLaunchFailure(ClusterTransaction tx, string host, string error, TimeSpan repeatAfter, ILogger logger)
    {
        var services = tx.Cluster.Provisioning
            .Where(t => IsFargate(t.CapacityProviderName) && t.Group.StartsWith("service:", StringComparison.Ordinal))
            .Select(t => t.Group["service:".Length..])
            .Distinct(StringComparer.Ordinal)
            .ToList();
        foreach (var name in services)
        {
            if (tx.Cluster.Services.TryGetValue(name, out var service)
                && ServiceRules.AddEvent(service, $"(service {service.Name}) was unable to place a task. Reason: capacity provider '{Name}' could not make host {host}: {error}", tx.Now, repeatAfter, logger))
            {
                tx.Save(service);
            }
        }
    }
}
