using System.Security.Cryptography;
using Berth.Core.ClusterQuery;
using Berth.Scheduler.Clusters;
using Berth.Scheduler.Fargate;
using Berth.Scheduler.Kernel;
using Berth.Scheduler.Placement;
using Berth.Scheduler.Tasks;

namespace Berth.Scheduler.Instances;

/// <summary>Container instances: registration and credentials, attributes, status (draining), deregistration, reads.</summary>
internal sealed partial class InstanceHandler(StateKernel kernel, ILogger<InstanceHandler> logger)
{
    private const string CredentialPrefix = "bic.";

    /// <summary>Registers a host; returns the instance and its credential (shown once: only a hash is kept).</summary>
    public async Task<Registration> RegisterAsync(string cluster, HostFacts facts)
    {
        ClusterHandler.ValidateName(cluster);
        var custom = HostFactsValidator.Validate(facts);
        var id = Guid.NewGuid().ToString("N");
        var secret = Base64Url(RandomNumberGenerator.GetBytes(32));
        var arn = await kernel.CommitAsync(cluster, tx =>
        {
            tx.EnsureCluster();
            var instance = new InstanceRecord
            {
                Id = id,
                Cluster = cluster,
                CredentialHash = SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(secret)),
                RegisteredAt = tx.Now,
                Facts = facts,
                DesiredSeq = tx.NextSeq(),
                LastHeard = kernel.Time.GetTimestamp(),
            };
            instance.DesiredVersion = instance.DesiredSeq;
            foreach (var (name, value) in custom)
            {
                instance.CustomAttributes[name] = value;
            }

            tx.AddInstance(instance);
            return instance.Arn;
        }, create: true);
        Log.InstanceRegistered(logger, id, cluster, facts.Cpu, facts.Memory);
        return new Registration(id, arn, $"{CredentialPrefix}{id}.{secret}", cluster);
    }

    /// <summary>Whether a bearer value has the shape of an instance credential (not whether it is valid).</summary>
    public static bool LooksLikeCredential(string value) => value.StartsWith(CredentialPrefix, StringComparison.Ordinal);

    /// <summary>The instance a credential speaks for, or null when it is not valid (unknown, wrong secret, INACTIVE).</summary>
    public string? Authenticate(string credential)
    {
        if (!LooksLikeCredential(credential))
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
        return kernel.ReadInstance(id, (_, instance) =>
            instance is not null
            && instance.Status != InstanceStatus.Inactive
            && CryptographicOperations.FixedTimeEquals(hash, instance.CredentialHash))
            ? id
            : null;
    }

    /// <summary>
    /// Lists instances (ListContainerInstances); the FARGATE pool's hosts only when <paramref name="includeFargate"/>:
    /// they are the platform's capacity, not the user's (ECS lists no Fargate capacity).
    /// </summary>
    public (IReadOnlyList<string> Arns, string NextToken) List(string cluster, string status, string filter, int maxResults, string nextToken, bool includeFargate = false)
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

        InstanceStatus? wanted = status switch
        {
            "" or null => null,
            "ACTIVE" => InstanceStatus.Active,
            "DRAINING" => InstanceStatus.Draining,
            "INACTIVE" => InstanceStatus.Inactive,
            _ => throw StateException.Invalid("status must be ACTIVE, DRAINING or INACTIVE."),
        };
        var (ids, next) = kernel.ReadCluster(cluster, state =>
        {
            RequireActive(state, cluster);
            var matching = state!.Instances.Values
                .Where(i => wanted is { } w ? i.Status == w : i.Status != InstanceStatus.Inactive)
                .Where(i => includeFargate || !FargatePool.IsPoolHost(i))
                .Where(i => query is null || query.Matches(state.ViewOf(i)))
                .OrderBy(i => i.Id, StringComparer.Ordinal);
            var (page, token) = Paging.Page(matching, maxResults, nextToken, i => i.Id);
            return (page.Select(i => i.Arn).ToList(), token);
        });
        return (ids, next);
    }

    /// <summary>Describes instances of a cluster; <paramref name="view"/> runs under the cluster's lock.</summary>
    public (List<T> Found, List<Failure> Failures) Describe<T>(string cluster, IEnumerable<string> references, Func<InstanceSummary, T> view) =>
        kernel.ReadCluster(cluster, state =>
        {
            RequireActive(state, cluster);
            var found = new List<T>();
            var failures = new List<Failure>();
            foreach (var reference in references)
            {
                if (state!.Instances.TryGetValue(Arns.Id(reference), out var instance))
                {
                    found.Add(view(Summarize(state, instance)));
                }
                else
                {
                    failures.Add(new Failure(reference, "MISSING", $"Container instance '{reference}' not found in cluster '{cluster}'."));
                }
            }

            return (found, failures);
        });

    /// <summary>Describes an instance by id, whatever its cluster (for the agent's own session); null when unknown.</summary>
    public T? Describe<T>(string id, Func<InstanceSummary, T> view)
        where T : class =>
        kernel.ReadInstance(id, (state, instance) => instance is null ? null : view(Summarize(state!, instance)));

    public Task<T> DeregisterAsync<T>(string cluster, string reference, bool force, Func<InstanceSummary, T> view) =>
        kernel.CommitAsync(cluster, tx =>
        {
            tx.Cluster.RequireActive();
            var instance = tx.Cluster.Instance(reference);
            if (instance.Status == InstanceStatus.Inactive)
            {
                return view(Summarize(tx.Cluster, instance));
            }

            if (instance.Tasks.Count > 0 && !force)
            {
                throw StateException.Precondition($"Container instance '{instance.Id}' has {instance.Tasks.Count} tasks that are not stopped; stop them or deregister with force.");
            }

            foreach (var task in instance.Tasks.ToList())
            {
                // The scheduler stops tracking these: the instance and its credential are gone, so no report will come.
                task.DesiredStatus = LifecycleStatus.Stopped;
                task.StopCode = StopCode.TerminationNotice;
                task.StoppedReason = "Container instance deregistration forced by user";
                task.StoppingAt ??= tx.Now;
                TaskLifecycle.MarkStopped(tx, task);
            }

            instance.Status = InstanceStatus.Inactive;
            instance.DeregisteredAt = tx.Now;
            instance.DesiredSeq = tx.NextSeq();
            tx.InstanceChanged(instance);
            tx.DesiredChanged(instance);
            return view(Summarize(tx.Cluster, instance));
        });

    /// <summary>PutAttributes (or DeleteAttributes): at most 10 per call, custom names only, each naming its target instance.</summary>
    public Task<List<(string Name, string Value, string TargetId)>> PutAttributesAsync(string cluster, IReadOnlyList<(string Name, string Value, string TargetId)> attributes, bool delete)
    {
        if (attributes.Count is 0 or > 10)
        {
            throw StateException.Invalid("attributes: between 1 and 10 per call.");
        }

        var canonical = attributes.Select((a, i) => HostFactsValidator.Attribute(a.Name, a.Value, $"attributes[{i}]", allowBerthNames: false)).ToList();
        return kernel.CommitAsync(cluster, tx =>
        {
            tx.Cluster.RequireActive();
            var targets = attributes.Select((a, i) => string.IsNullOrEmpty(a.TargetId)
                ? throw StateException.Invalid($"attributes[{i}].target_id is required (attribute '{a.Name}').")
                : tx.Cluster.Instance(a.TargetId)).ToList();
            if (!delete)
            {
                // ECS: at most 10 custom attributes per resource, checked before anything changes.
                foreach (var target in targets.Distinct())
                {
                    var names = new HashSet<string>(target.CustomAttributes.Keys, StringComparer.Ordinal);
                    names.UnionWith(canonical.Where((_, i) => ReferenceEquals(targets[i], target)));
                    if (names.Count > HostFactsValidator.MaxCustomAttributes)
                    {
                        throw StateException.Invalid($"attributes: container instance '{target.Id}' would have {names.Count} custom attributes; at most {HostFactsValidator.MaxCustomAttributes}.");
                    }
                }
            }

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
            }

            foreach (var instance in targets.Distinct())
            {
                tx.InstanceChanged(instance);
            }

            return attributes.Select((a, i) => (canonical[i], delete ? "" : a.Value, a.TargetId)).ToList();
        });
    }

    /// <summary>UpdateContainerInstancesState: ACTIVE or DRAINING (the service reconciler then moves DRAINING hosts' tasks).</summary>
    public Task<(List<T> Updated, List<Failure> Failures)> UpdateStateAsync<T>(string cluster, IEnumerable<string> references, InstanceStatus status, Func<InstanceSummary, T> view)
    {
        if (status is not (InstanceStatus.Active or InstanceStatus.Draining))
        {
            throw StateException.Invalid("status must be ACTIVE or DRAINING.");
        }

        return kernel.CommitAsync(cluster, tx =>
        {
            tx.Cluster.RequireActive();
            var updated = new List<InstanceRecord>();
            var failures = new List<Failure>();
            foreach (var reference in references)
            {
                if (!tx.Cluster.Instances.TryGetValue(Arns.Id(reference), out var instance))
                {
                    failures.Add(new Failure(reference, "MISSING", $"Container instance '{reference}' not found in cluster '{cluster}'."));
                    continue;
                }

                if (instance.Status == InstanceStatus.Inactive)
                {
                    failures.Add(new Failure(instance.Arn, "INACTIVE", "The container instance is deregistered."));
                    continue;
                }

                if (instance.Status != status)
                {
                    instance.Status = status;
                    instance.DesiredSeq = tx.NextSeq();
                    tx.InstanceChanged(instance);
                    // Its agent hears the status in its desired state.
                    tx.DesiredChanged(instance);
                }

                updated.Add(instance);
            }

            return (updated.ConvertAll(i => view(Summarize(tx.Cluster, i))), failures);
        });
    }

    /// <summary>An instance as its API shows it: the record with what placement derives (remaining resources, ports in use, counts).</summary>
    internal static InstanceSummary Summarize(ClusterState cluster, InstanceRecord instance)
    {
        var view = cluster.Snapshot.Find(instance.Id);
        var remainingCpu = view?.RemainingCpu ?? instance.Facts.Cpu - instance.Tasks.Sum(t => t.Reservation.Cpu);
        var remainingMemory = view?.RemainingMemory ?? instance.Facts.Memory - instance.Tasks.Sum(t => t.Reservation.Memory);
        // ECS lists the ports in use (reserved plus taken by tasks) under the remaining resources' PORTS entry.
        var used = view?.UsedPorts ?? PortSet.Of(instance.Tasks.SelectMany(t => t.Reservation.HostPorts));
        var running = 0;
        var pending = 0;
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

        return new InstanceSummary(instance, remainingCpu, remainingMemory, used, running, pending, ClusterState.AttributesOf(instance));
    }

    private static void RequireActive(ClusterState? state, string cluster)
    {
        if (state?.IsActive != true)
        {
            throw StateException.NotFound($"Cluster '{cluster}' not found.");
        }
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Container instance {InstanceId} registered in cluster {Cluster} with {Cpu} cpu units and {Memory} MiB")]
        public static partial void InstanceRegistered(ILogger logger, string instanceId, string cluster, int cpu, int memory);
    }
}

/// <summary>What Register answers: the instance and its credential.</summary>
internal sealed record Registration(string InstanceId, string InstanceArn, string Credential, string Cluster);

/// <summary>
/// An instance with what its API derives from the cluster: remaining resources, ports in use, running and pending
/// counts, every attribute. The record itself may only be read while the projection runs (under the cluster's lock).
/// </summary>
internal readonly record struct InstanceSummary(
    InstanceRecord Instance,
    int RemainingCpu,
    int RemainingMemory,
    PortSet UsedPorts,
    int RunningTasks,
    int PendingTasks,
    SortedDictionary<string, string> Attributes);
