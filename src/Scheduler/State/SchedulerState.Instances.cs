using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Berth.Core.ClusterQuery;
using Berth.Scheduler.Placement;
using Berth.Scheduler.State.Persistence;
using Berth.Scheduler.V1;

namespace Berth.Scheduler.State;

// Container instances: registration, credentials, attributes, status.
internal sealed partial class SchedulerState
{
    private const string CredentialPrefix = "bic.";

    [GeneratedRegex(@"^[A-Za-z0-9_.\-/:@]{1,128}$")]
    private static partial Regex AttributeNameRegex();

    public async Task<RegisterResponse> RegisterInstanceAsync(string clusterName, HostFacts facts)
    {
        if (facts is null || facts.Cpu <= 0 || facts.Memory <= 0)
        {
            throw StateException.Invalid("facts.cpu and facts.memory must be positive.");
        }

        if (!ClusterNameRegex().IsMatch(clusterName))
        {
            throw StateException.Invalid($"Cluster name '{clusterName}' must be 1-255 letters, digits, hyphens and underscores.");
        }

        foreach (var port in facts.ReservedPorts.Concat(facts.ReservedPortsUdp))
        {
            if (port is < 1 or > 65535)
            {
                throw StateException.Invalid($"facts.reserved_ports: {port} is not a port (1-65535).");
            }
        }

        var custom = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var attribute in facts.Attributes)
        {
            custom[ValidateCustomAttribute(attribute.Name, attribute.Value, allowBuiltIn: true)] = attribute.Value;
        }

        var id = Guid.NewGuid().ToString("N");
        var secret = Base64Url(RandomNumberGenerator.GetBytes(32));
        InstanceRecord instance;
        Task commit;
        lock (_gate)
        {
            EnsureClusterLocked(clusterName, out var changes);
            instance = new InstanceRecord
            {
                Id = id,
                Cluster = clusterName,
                CredentialHash = SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(secret)),
                RegisteredAt = Now,
                Facts = facts.Clone(),
                DesiredSeq = NextSeq(),
                LastHeard = time.GetTimestamp(),
            };
            instance.DesiredVersion = instance.DesiredSeq;
            foreach (var (name, value) in custom)
            {
                instance.CustomAttributes[name] = value;
            }

            _instances[id] = instance;
            RefreshView(instance);
            changes.Instances.Add(ToRow(instance));
            commit = Queue(changes);
        }

        await DurableAsync(commit);
        Log.InstanceRegistered(logger, id, clusterName, facts.Cpu, facts.Memory);
        return new RegisterResponse
        {
            ContainerInstanceId = id,
            ContainerInstanceArn = instance.Arn,
            InstanceCredential = $"{CredentialPrefix}{id}.{secret}",
            Cluster = clusterName,
        };
    }

    /// <summary>Whether a bearer value has the shape of an instance credential (not whether it is valid).</summary>
    public static bool LooksLikeInstanceCredential(string value) => value.StartsWith(CredentialPrefix, StringComparison.Ordinal);

    /// <summary>The instance a credential speaks for, or null when it is not valid (unknown, wrong secret, INACTIVE).</summary>
    public string? AuthenticateInstance(string credential)
    {
        if (!LooksLikeInstanceCredential(credential))
        {
            return null;
        }

        var rest = credential.AsSpan(CredentialPrefix.Length);
        var dot = rest.IndexOf('.');
        if (dot <= 0)
        {
            return null;
        }

        var id = rest[..dot].ToString();
        var hash = SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(rest[(dot + 1)..].ToString()));
        lock (_gate)
        {
            return _instances.TryGetValue(id, out var instance)
                && instance.Status != ContainerInstanceStatus.Inactive
                && CryptographicOperations.FixedTimeEquals(hash, instance.CredentialHash)
                ? id
                : null;
        }
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>Validates a custom attribute and returns its canonical name.</summary>
    private static string ValidateCustomAttribute(string name, string value, bool allowBuiltIn)
    {
        if (string.IsNullOrEmpty(name) || !AttributeNameRegex().IsMatch(name))
        {
            throw StateException.Invalid($"Attribute name '{name}' must be 1-128 letters, digits, and . - _ / : @.");
        }

        if (value.Length > 128)
        {
            throw StateException.Invalid($"Attribute '{name}': the value must be at most 128 characters.");
        }

        var canonical = AttributeNames.Normalize(name);
        if (!allowBuiltIn && canonical.StartsWith("berth.", StringComparison.Ordinal))
        {
            throw StateException.Invalid($"Attribute '{name}' is built in and cannot be changed through the API.");
        }

        return canonical;
    }

    private InstanceRecord InstanceLocked(string cluster, string reference)
    {
        var id = Arns.Id(reference);
        if (!_instances.TryGetValue(id, out var instance) || instance.Cluster != cluster)
        {
            throw StateException.NotFound($"Container instance '{reference}' not found in cluster '{cluster}'.");
        }

        return instance;
    }

    private void RequireClusterLocked(string cluster)
    {
        if (!_clusters.TryGetValue(cluster, out var record) || record.Status != "ACTIVE")
        {
            throw StateException.NotFound($"Cluster '{cluster}' not found.");
        }
    }

    public (IReadOnlyList<string> Arns, string NextToken) ListInstances(string cluster, string status, string filter, int maxResults, string nextToken)
    {
        ClusterQuery? query = null;
        if (!string.IsNullOrWhiteSpace(filter))
        {
            try
            {
                query = ClusterQuery.Parse(filter);
            }
            catch (FormatException e)
            {
                throw StateException.Invalid($"filter: {e.Message}");
            }
        }

        ContainerInstanceStatus? wanted = status switch
        {
            "" or null => null,
            "ACTIVE" => ContainerInstanceStatus.Active,
            "DRAINING" => ContainerInstanceStatus.Draining,
            "INACTIVE" => ContainerInstanceStatus.Inactive,
            _ => throw StateException.Invalid("status must be ACTIVE, DRAINING or INACTIVE."),
        };
        lock (_gate)
        {
            RequireClusterLocked(cluster);
            var snapshot = Snapshot(cluster);
            var matching = _instances.Values
                .Where(i => i.Cluster == cluster)
                .Where(i => wanted is { } w ? i.Status == w : i.Status != ContainerInstanceStatus.Inactive)
                .Where(i => query is null || query.Matches(snapshot.Find(i.Id) ?? BaseView(i)))
                .OrderBy(i => i.Id, StringComparer.Ordinal);
            var (page, next) = Paging.Page(matching, maxResults, nextToken, i => i.Id);
            return (page.Select(i => i.Arn).ToList(), next);
        }
    }

    public (List<ContainerInstance> Found, List<Failure> Failures) DescribeInstances(string cluster, IEnumerable<string> references)
    {
        var found = new List<ContainerInstance>();
        var failures = new List<Failure>();
        lock (_gate)
        {
            RequireClusterLocked(cluster);
            foreach (var reference in references)
            {
                if (_instances.TryGetValue(Arns.Id(reference), out var instance) && instance.Cluster == cluster)
                {
                    found.Add(ToProto(instance));
                }
                else
                {
                    failures.Add(new Failure { Arn = reference, Reason = "MISSING", Detail = $"Container instance '{reference}' not found in cluster '{cluster}'." });
                }
            }
        }

        return (found, failures);
    }

    /// <summary>Describes an instance by id, whatever its cluster (for the agent's own session).</summary>
    public ContainerInstance? DescribeInstance(string id)
    {
        lock (_gate)
        {
            return _instances.TryGetValue(id, out var instance) ? ToProto(instance) : null;
        }
    }

    public async Task<ContainerInstance> DeregisterInstanceAsync(string cluster, string reference, bool force)
    {
        InstanceRecord instance;
        Task commit;
        lock (_gate)
        {
            RequireClusterLocked(cluster);
            instance = InstanceLocked(cluster, reference);
            if (instance.Status == ContainerInstanceStatus.Inactive)
            {
                return ToProto(instance);
            }

            if (instance.Tasks.Count > 0 && !force)
            {
                throw StateException.Precondition($"Container instance '{instance.Id}' has {instance.Tasks.Count} tasks that are not stopped; stop them or deregister with force.");
            }

            var changes = new ChangeSet();
            foreach (var task in instance.Tasks.ToList())
            {
                // The scheduler stops tracking these: the instance and its credential are gone, so no report will come.
                task.DesiredStatus = LifecycleStatus.Stopped;
                task.StopCode = StopCode.TerminationNotice;
                task.StoppedReason = "Container instance deregistration forced by user";
                task.StoppingAt ??= Now;
                MarkStoppedLocked(task, instance, changes);
            }

            instance.Status = ContainerInstanceStatus.Inactive;
            instance.DesiredSeq = NextSeq();
            instance.DesiredVersion = Math.Max(instance.DesiredVersion, instance.DesiredSeq);
            RefreshView(instance);
            changes.Instances.Add(ToRow(instance));
            commit = Queue(changes);
        }

        await DurableAsync(commit);
        Notify([instance.Id]);
        lock (_gate)
        {
            return ToProto(instance);
        }
    }

    public async Task<List<TargetedAttribute>> PutAttributesAsync(string cluster, IReadOnlyList<TargetedAttribute> attributes, bool delete)
    {
        if (attributes.Count is 0 or > 10)
        {
            throw StateException.Invalid("attributes: between 1 and 10 per call.");
        }

        var canonical = attributes.Select(a => ValidateCustomAttribute(a.Name, a.Value, allowBuiltIn: false)).ToList();
        Task commit;
        lock (_gate)
        {
            RequireClusterLocked(cluster);
            var targets = attributes.Select(a => string.IsNullOrEmpty(a.TargetId)
                ? throw StateException.Invalid($"Attribute '{a.Name}': target_id is required.")
                : InstanceLocked(cluster, a.TargetId)).ToList();
            var changed = new HashSet<InstanceRecord>();
            for (var i = 0; i < attributes.Count; i++)
            {
                if (delete)
                {
                    targets[i].CustomAttributes.Remove(canonical[i]);
                }
                else
                {
                    targets[i].CustomAttributes[canonical[i]] = attributes[i].Value;
                }

                changed.Add(targets[i]);
            }

            var changes = new ChangeSet();
            foreach (var instance in changed)
            {
                RefreshView(instance);
                changes.Instances.Add(ToRow(instance));
            }

            commit = Queue(changes);
        }

        await DurableAsync(commit);
        return [.. attributes.Select((a, i) => new TargetedAttribute { Name = canonical[i], Value = delete ? "" : a.Value, TargetId = a.TargetId })];
    }

    public async Task<(List<ContainerInstance> Updated, List<Failure> Failures)> UpdateInstancesStateAsync(string cluster, IEnumerable<string> references, ContainerInstanceStatus status)
    {
        if (status is not (ContainerInstanceStatus.Active or ContainerInstanceStatus.Draining))
        {
            throw StateException.Invalid("status must be ACTIVE or DRAINING.");
        }

        var updated = new List<InstanceRecord>();
        var failures = new List<Failure>();
        Task commit;
        lock (_gate)
        {
            RequireClusterLocked(cluster);
            var changes = new ChangeSet();
            foreach (var reference in references)
            {
                if (!_instances.TryGetValue(Arns.Id(reference), out var instance) || instance.Cluster != cluster)
                {
                    failures.Add(new Failure { Arn = reference, Reason = "MISSING", Detail = $"Container instance '{reference}' not found in cluster '{cluster}'." });
                    continue;
                }

                if (instance.Status == ContainerInstanceStatus.Inactive)
                {
                    failures.Add(new Failure { Arn = instance.Arn, Reason = "INACTIVE", Detail = "The container instance is deregistered." });
                    continue;
                }

                if (instance.Status != status)
                {
                    instance.Status = status;
                    instance.DesiredSeq = NextSeq();
                    instance.DesiredVersion = Math.Max(instance.DesiredVersion, instance.DesiredSeq);
                    RefreshView(instance);
                    changes.Instances.Add(ToRow(instance));
                }

                updated.Add(instance);
            }

            commit = Queue(changes);
        }

        await DurableAsync(commit);
        Notify([.. updated.Select(i => i.Id)]);
        lock (_gate)
        {
            return ([.. updated.Select(ToProto)], failures);
        }
    }

    public int CountInstances()
    {
        lock (_gate)
        {
            return _instances.Count;
        }
    }
}
