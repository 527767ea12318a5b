using System.Text.RegularExpressions;
using Berth.Core.TaskDefinitions;
using Berth.Scheduler.State.Persistence;
using Berth.Scheduler.V1;
using TaskDefinition = Berth.Core.TaskDefinitions.TaskDefinition;

namespace Berth.Scheduler.State;

// Clusters and task definitions.
internal sealed partial class SchedulerState
{
    [GeneratedRegex("^[A-Za-z0-9_-]{1,255}$")]
    private static partial Regex ClusterNameRegex();

    public async Task<V1.Cluster> CreateClusterAsync(string name)
    {
        if (!ClusterNameRegex().IsMatch(name))
        {
            throw StateException.Invalid($"Cluster name '{name}' must be 1-255 letters, digits, hyphens and underscores.");
        }

        Task commit;
        lock (_gate)
        {
            if (_clusters.TryGetValue(name, out var existing) && existing.Status == "ACTIVE")
            {
                return ToProto(existing);
            }

            var cluster = EnsureClusterLocked(name, out var changes);
            commit = Queue(changes);
        }

        await DurableAsync(commit);
        lock (_gate)
        {
            return ToProto(_clusters[name]);
        }
    }

    /// <summary>Creates or reactivates a cluster; the rows to store come back in <paramref name="changes"/>.</summary>
    private ClusterRecord EnsureClusterLocked(string name, out ChangeSet changes)
    {
        changes = new ChangeSet();
        if (!_clusters.TryGetValue(name, out var cluster))
        {
            _clusters[name] = cluster = new ClusterRecord { Name = name, CreatedAt = Now };
            _snapshots[name] = BuildSnapshot(name);
            changes.Clusters.Add(ToRow(cluster));
        }
        else if (cluster.Status != "ACTIVE")
        {
            cluster.Status = "ACTIVE";
            cluster.CreatedAt = Now;
            changes.Clusters.Add(ToRow(cluster));
        }

        return cluster;
    }

    public (IReadOnlyList<string> Arns, string NextToken) ListClusters(int maxResults, string nextToken)
    {
        lock (_gate)
        {
            var names = _clusters.Values.Where(c => c.Status == "ACTIVE").Select(c => c.Name).Order(StringComparer.Ordinal);
            var (page, next) = Paging.Page(names, maxResults, nextToken, n => n);
            return (page.Select(Arns.Cluster).ToList(), next);
        }
    }

    public (List<V1.Cluster> Found, List<Failure> Failures) DescribeClusters(IEnumerable<string> references)
    {
        var found = new List<V1.Cluster>();
        var failures = new List<Failure>();
        lock (_gate)
        {
            foreach (var reference in references)
            {
                var name = Arns.ClusterName(reference);
                if (_clusters.TryGetValue(name, out var cluster))
                {
                    found.Add(ToProto(cluster));
                }
                else
                {
                    failures.Add(new Failure { Arn = Arns.Cluster(name), Reason = "MISSING", Detail = $"Cluster '{name}' does not exist." });
                }
            }
        }

        return (found, failures);
    }

    public async Task<V1.Cluster> DeleteClusterAsync(string reference)
    {
        var name = Arns.ClusterName(reference);
        Task commit;
        ClusterRecord cluster;
        lock (_gate)
        {
            if (!_clusters.TryGetValue(name, out cluster!) || cluster.Status != "ACTIVE")
            {
                throw StateException.NotFound($"Cluster '{name}' not found.");
            }

            var instances = _instances.Values.Count(i => i.Cluster == name && i.Status != ContainerInstanceStatus.Inactive);
            if (instances > 0)
            {
                throw StateException.Precondition($"Cluster '{name}' has {instances} registered container instances; deregister them first.");
            }

            var services = CountServicesLocked(name, ServiceStatuses.Active, ServiceStatuses.Draining);
            if (services > 0)
            {
                throw StateException.Precondition($"Cluster '{name}' has {services} services that are ACTIVE or DRAINING; delete them first.");
            }

            var tasks = _tasks.Values.Count(t => t.Cluster == name && t.LastStatus != LifecycleStatus.Stopped);
            if (tasks > 0)
            {
                throw StateException.Precondition($"Cluster '{name}' has {tasks} tasks that are not stopped.");
            }

            cluster.Status = "INACTIVE";
            var changes = new ChangeSet();
            changes.Clusters.Add(ToRow(cluster));
            commit = Queue(changes);
        }

        await DurableAsync(commit);
        lock (_gate)
        {
            return ToProto(cluster);
        }
    }

    public async Task<V1.TaskDefinition> RegisterTaskDefinitionAsync(string json)
    {
        TaskDefinition definition;
        try
        {
            definition = TaskDefinitionJson.Parse(json);
        }
        catch (TaskDefinitionException e)
        {
            throw StateException.Invalid(e.Message);
        }

        var normalized = TaskDefinitionJson.Serialize(definition);
        TaskDefinitionRecord record;
        Task commit;
        lock (_gate)
        {
            var family = definition.Family!;
            var revision = _families.TryGetValue(family, out var revisions) && revisions.Count > 0 ? revisions[^1].Revision + 1 : 1;
            record = new TaskDefinitionRecord
            {
                Family = family,
                Revision = revision,
                Definition = definition,
                Json = normalized,
                Requirements = RequirementsOf(definition),
                Arn = Arns.TaskDefinition(family, revision),
                RegisteredAt = Now,
            };
            AddDefinition(record);
            var changes = new ChangeSet();
            changes.TaskDefinitions.Add(ToRow(record));
            commit = Queue(changes);
        }

        await DurableAsync(commit);
        lock (_gate)
        {
            return ToProto(record);
        }
    }

    private void AddDefinition(TaskDefinitionRecord record)
    {
        if (!_families.TryGetValue(record.Family, out var revisions))
        {
            _families[record.Family] = revisions = [];
        }

        revisions.Add(record);
    }

    /// <summary>Resolves <c>family</c> (latest ACTIVE), <c>family:revision</c> or an ARN.</summary>
    private TaskDefinitionRecord? ResolveDefinitionLocked(string reference)
    {
        var text = reference.StartsWith("arn:", StringComparison.Ordinal) ? Arns.Id(reference) : reference;
        var colon = text.LastIndexOf(':');
        if (colon < 0)
        {
            return _families.TryGetValue(text, out var all) ? all.LastOrDefault(d => d.Status == "ACTIVE") : null;
        }

        if (!int.TryParse(text.AsSpan(colon + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var revision))
        {
            return null;
        }

        return _families.TryGetValue(text[..colon], out var revisions) ? revisions.FirstOrDefault(d => d.Revision == revision) : null;
    }

    public V1.TaskDefinition DescribeTaskDefinition(string reference)
    {
        lock (_gate)
        {
            var record = ResolveDefinitionLocked(reference) ?? throw StateException.NotFound($"Task definition '{reference}' not found.");
            return ToProto(record);
        }
    }

    public (IReadOnlyList<string> Arns, string NextToken) ListTaskDefinitions(string family, string status, bool descending, int maxResults, string nextToken)
    {
        lock (_gate)
        {
            var all = _families.Values.SelectMany(r => r)
                .Where(d => string.IsNullOrEmpty(family) || d.Family == family)
                .Where(d => MatchesStatus(d.Status, status));
            var ordered = descending
                ? all.OrderBy(d => d.Family, StringComparer.Ordinal).ThenByDescending(d => d.Revision)
                : all.OrderBy(d => d.Family, StringComparer.Ordinal).ThenBy(d => d.Revision);
            var (page, next) = Paging.Page(ordered, maxResults, nextToken, d => d.Arn);
            return (page.Select(d => d.Arn).ToList(), next);
        }
    }

    public (IReadOnlyList<string> Families, string NextToken) ListTaskDefinitionFamilies(string prefix, string status, int maxResults, string nextToken)
    {
        lock (_gate)
        {
            var families = _families
                .Where(f => string.IsNullOrEmpty(prefix) || f.Key.StartsWith(prefix, StringComparison.Ordinal))
                .Where(f => status switch
                {
                    "ALL" => true,
                    "INACTIVE" => f.Value.All(d => d.Status == "INACTIVE"),
                    _ => f.Value.Any(d => d.Status == "ACTIVE"),
                })
                .Select(f => f.Key)
                .Order(StringComparer.Ordinal);
            var (page, next) = Paging.Page(families, maxResults, nextToken, f => f);
            return (page.ToList(), next);
        }
    }

    private static bool MatchesStatus(string actual, string wanted) => wanted switch
    {
        "ALL" => true,
        "" or null => actual == "ACTIVE",
        _ => actual == wanted,
    };

    public async Task<V1.TaskDefinition> DeregisterTaskDefinitionAsync(string reference)
    {
        TaskDefinitionRecord record;
        Task commit;
        lock (_gate)
        {
            if (!Arns.Id(reference).Contains(':', StringComparison.Ordinal))
            {
                throw StateException.Invalid($"Deregistering needs a revision: '{reference}:<revision>'.");
            }

            record = ResolveDefinitionLocked(reference) ?? throw StateException.NotFound($"Task definition '{reference}' not found.");
            if (record.Status == "INACTIVE")
            {
                return ToProto(record);
            }

            record.Status = "INACTIVE";
            record.DeregisteredAt = Now;
            record.InvalidateDescribed();
            var changes = new ChangeSet();
            changes.TaskDefinitions.Add(ToRow(record));
            commit = Queue(changes);
        }

        await DurableAsync(commit);
        lock (_gate)
        {
            return ToProto(record);
        }
    }
}

/// <summary>Pagination by an opaque token: the key of the last item of the previous page.</summary>
internal static class Paging
{
    public static (List<T> Page, string NextToken) Page<T>(IEnumerable<T> ordered, int maxResults, string nextToken, Func<T, string> key)
    {
        if (maxResults is < 0 or > 100)
        {
            throw StateException.Invalid("maxResults must be 1-100.");
        }

        var size = maxResults == 0 ? 100 : maxResults;
        var items = ordered;
        if (!string.IsNullOrEmpty(nextToken))
        {
            var after = Decode(nextToken);
            items = items.SkipWhile(i => key(i) != after).Skip(1);
        }

        var page = items.Take(size + 1).ToList();
        if (page.Count <= size)
        {
            return (page, "");
        }

        page.RemoveAt(size);
        return (page, Encode(key(page[^1])));
    }

    private static string Encode(string key) => Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(key));

    private static string Decode(string token)
    {
        try
        {
            return System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(token));
        }
        catch (FormatException)
        {
            throw StateException.Invalid("nextToken is not a token this API returned.");
        }
    }
}
