using System.Text.RegularExpressions;
using Berth.Core.Networking;
using Berth.Scheduler.Kernel;
using Berth.Scheduler.Placement;

namespace Berth.Scheduler.Clusters;

/// <summary>Clusters: create (idempotent), delete (only when empty), list and describe.</summary>
internal sealed partial class ClusterHandler(StateKernel kernel, Networking.HostNetworks networks, Fargate.FargatePool pool)
{
    [GeneratedRegex("^[A-Za-z0-9_-]{1,255}$")]
    private static partial Regex NameRegex();

    /// <summary>Throws INVALID_ARGUMENT naming <paramref name="field"/> unless the name is 1-255 letters, digits, hyphens and underscores.</summary>
    public static void ValidateName(string name, string field = "cluster")
    {
        if (!NameRegex().IsMatch(name))
        {
            throw StateException.Invalid($"{field}: cluster name '{Truncate(name)}' must be 1-255 letters, digits, hyphens and underscores.");
        }
    }

    /// <summary>Creates the cluster (or returns it); its awsvpc task CIDR is <paramref name="taskCidr"/> or one from the pool.</summary>
    public async Task<ClusterSummary> CreateAsync(string name, string? taskCidr = null)
    {
        ValidateName(name, "cluster_name");
        var requested = string.IsNullOrEmpty(taskCidr) ? (Ipv4Cidr?)null : networks.ParseRequested(taskCidr, "task_cidr");
        return await networks.WithClusterCidrAsync(name, requested, choose => kernel.CommitAsync(name, tx =>
        {
            // Chosen (and checked) before anything changes: a refused CIDR creates nothing.
            var cidr = choose(tx.Cluster.Record);
            tx.EnsureCluster();
            SecurityGroups.LaunchGroups.EnsureDefault(tx);
            if (cidr is not null && tx.Cluster.Record!.TaskCidr != cidr)
            {
                tx.Cluster.Record.TaskCidr = cidr;
                tx.Save(tx.Cluster.Record);
            }

            return Summarize(tx.Cluster);
        }, create: true));
    }

    public Task<ClusterSummary> DeleteAsync(string reference)
    {
        var name = Arns.ClusterName(reference);
        return kernel.CommitAsync(name, tx =>
        {
            var cluster = tx.Cluster;
            cluster.RequireActive();
            var instances = cluster.Instances.Values.Count(i => i.Status != InstanceStatus.Inactive);
            if (instances > 0)
            {
                throw StateException.Precondition($"Cluster '{name}' has {instances} registered container instances; deregister them first.");
            }

            var services = cluster.Services.Values.Count(s => s.Status is Statuses.Active or Statuses.Draining);
            if (services > 0)
            {
                throw StateException.Precondition($"Cluster '{name}' has {services} services that are ACTIVE or DRAINING; delete them first.");
            }

            var tasks = cluster.Tasks.Values.Count(t => t.LastStatus != LifecycleStatus.Stopped);
            if (tasks > 0)
            {
                throw StateException.Precondition($"Cluster '{name}' has {tasks} tasks that are not stopped.");
            }

            cluster.Record!.Status = Statuses.Inactive;
            tx.Save(cluster.Record);
            return Summarize(cluster);
        });
    }

    public (IReadOnlyList<string> Arns, string NextToken) List(int maxResults, string nextToken)
    {
        var names = kernel.ClusterNames
            .Where(name => kernel.ReadCluster(name, c => c?.IsActive == true))
            .Order(StringComparer.Ordinal);
        var (page, next) = Paging.Page(names, maxResults, nextToken, n => n);
        return (page.Select(Arns.Cluster).ToList(), next);
    }

    public (List<ClusterSummary> Found, List<Failure> Failures) Describe(IEnumerable<string> references)
    {
        var found = new List<ClusterSummary>();
        var failures = new List<Failure>();
        foreach (var reference in references)
        {
            var name = Arns.ClusterName(reference);
            if (kernel.ReadCluster(name, c => c?.Record is null ? null : Summarize(c)) is { } summary)
            {
                found.Add(summary);
            }
            else
            {
                failures.Add(new Failure(Arns.Cluster(name), "MISSING", $"Cluster '{name}' does not exist."));
            }
        }

        return (found, failures);
    }

    /// <summary>
    /// The cluster's subnets (EC2 DescribeSubnets), all or those named; an id that is not one of them is NOT_FOUND in
    /// EC2's words. <paramref name="view"/> projects each under the cluster's lock.
    /// </summary>
    public List<T> DescribeSubnets<T>(string reference, IReadOnlyCollection<string> ids, Func<Networking.SubnetView, T> view)
    {
        var name = Arns.ClusterName(reference);
        return kernel.ReadCluster(name, cluster =>
        {
            if (cluster?.IsActive != true)
            {
                throw StateException.NotFound($"Cluster '{name}' does not exist.");
            }

            var subnets = Networking.Subnets.Of(cluster, pool.SubnetZones);
            if (ids.Count == 0)
            {
                return subnets.ConvertAll(s => view(s));
            }

            var missing = ids.Where(id => !subnets.Exists(s => s.Id == id)).ToList();
            if (missing.Count > 0)
            {
                throw StateException.NotFound($"InvalidSubnetID.NotFound: The subnet ID '{SecurityGroups.Ec2.Printable(missing[0])}' does not exist");
            }

            return subnets.Where(s => ids.Contains(s.Id)).Select(view).ToList();
        });
    }

    private static ClusterSummary Summarize(ClusterState cluster)
    {
        int instances = 0, running = 0, pending = 0;
        foreach (var instance in cluster.Instances.Values)
        {
            if (instance.Status == InstanceStatus.Inactive)
            {
                continue;
            }

            instances++;
            foreach (var task in instance.Tasks)
            {
                if (task.LastStatus == LifecycleStatus.Running)
                {
                    running++;
                }
                else if (TaskCounting.IsPending(task.LastStatus))
                {
                    pending++;
                }
            }
        }

        var record = cluster.Record!;
        var services = cluster.Services.Values.Count(s => s.Status == Statuses.Active);
        return new ClusterSummary(record.Name, record.Arn, record.Status, instances, running, pending, services, record.CreatedAt) {
            TaskCidr = record.TaskCidr,
            CapacityProviders = record.CapacityProviders,
            DefaultStrategy = record.DefaultStrategy,
        };
    }

    private static string Truncate(string value) => value.Length <= 64 ? value : value[..64] + "...";
}

/// <summary>A cluster as its API shows it.</summary>
internal sealed record ClusterSummary(
    string Name,
    string Arn,
    string Status,
    int RegisteredContainerInstances,
    int RunningTasks,
    int PendingTasks,
    int ActiveServices,
    DateTimeOffset CreatedAt)
{
    /// <summary>The awsvpc task CIDR; null until given or chosen.</summary>
    public string? TaskCidr { get; init; }

    /// <summary>The associated capacity providers, in the order given.</summary>
    public IReadOnlyList<string> CapacityProviders { get; init; } = [];

    /// <summary>The default capacity provider strategy.</summary>
    public IReadOnlyList<StrategyItem> DefaultStrategy { get; init; } = [];
}
