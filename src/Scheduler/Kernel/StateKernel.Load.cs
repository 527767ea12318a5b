namespace Berth.Scheduler.Kernel;

// Start-up: the store reads every record into the kernel, which builds the indexes and snapshots.
internal sealed partial class StateKernel
{
    private readonly TaskCompletionSource _loaded = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when the state has been loaded from the store; nothing is answered before.</summary>
    public Task WhenLoaded => _loaded.Task;

    /// <summary>
    /// Opens (migrates) the store and loads every record; records that ended before <paramref name="visibleSince"/>
    /// (bounded state) stay in the database only. Callers wait on <see cref="WhenLoaded"/>.
    /// </summary>
    public async Task LoadAsync(DateTimeOffset visibleSince, CancellationToken cancellationToken)
    {
        try
        {
            var started = time.GetTimestamp();
            await store.OpenAsync(cancellationToken);
            var opened = time.GetElapsedTime(started);
            var sink = new LoadSink(this, visibleSince);
            await store.LoadAsync(sink, cancellationToken);

            // Versions sent before the restart may be above anything stored (see NextSeq): every instance starts at a
            // version above all of them. Every agent gets a full lost-host grace period from now, however long ago it
            // was last heard of.
            var loadedAt = time.GetTimestamp();
            int instances = 0, tasks = 0;
            foreach (var cluster in _clusters.Values)
            {
                lock (cluster.Gate)
                {
                    cluster.RebuildSnapshot();
                    cluster.SortStopped();
                    foreach (var instance in cluster.Instances.Values)
                    {
                        instance.DesiredVersion = NextSeq();
                        instance.LastHeard = loadedAt;
                    }

                    instances += cluster.Instances.Count;
                    tasks += cluster.Tasks.Count;
                }
            }

            Log.Loaded(logger, _clusters.Values.Count(c => c.Record is not null), instances, tasks, time.GetElapsedTime(started).TotalMilliseconds, opened.TotalMilliseconds);
            _loaded.TrySetResult();
        }
        catch (Exception e)
        {
            _loaded.TrySetException(e);
            throw;
        }
    }

    private ClusterState ClusterForLoad(string name) => _clusters.GetOrAdd(name, static n => new ClusterState(n));

    /// <summary>Where the store puts what it reads. Nothing else runs before the load completes; locks are still taken per batch.</summary>
    private sealed class LoadSink(StateKernel kernel, DateTimeOffset visibleSince) : IStateSink
    {
        private readonly Dictionary<string, Dictionary<string, List<TaskRecord>>> _serviceTasks = new(StringComparer.Ordinal);

        public DateTimeOffset VisibleSince => visibleSince;

        public void AddCluster(ClusterRecord cluster)
        {
            var state = kernel.ClusterForLoad(cluster.Name);
            lock (state.Gate)
            {
                state.Record = cluster;
            }
        }

        public void AddDefinition(TaskDefinitionRecord definition)
        {
            lock (kernel.Definitions.Gate)
            {
                kernel.Definitions.Add(definition);
            }
        }

        public TaskDefinitionRecord? FindDefinition(string arn) => kernel.Definitions.Find(arn);

        public void AddInstance(InstanceRecord instance)
        {
            var state = kernel.ClusterForLoad(instance.Cluster);
            lock (state.Gate)
            {
                state.Instances[instance.Id] = instance;
                instance.DesiredVersion = instance.DesiredSeq;
            }

            kernel.IndexInstance(instance.Id, instance.Cluster);
            kernel.SeenSeq(instance.DesiredSeq);
        }

        public void AddTasks(IReadOnlyList<TaskRecord> tasks)
        {
            // Batches come from several decoding threads; with one cluster (the common case) a batch is one lock.
            ClusterState? state = null;
            var highest = 0L;
            try
            {
                foreach (var task in tasks)
                {
                    if (state?.Name != task.Cluster)
                    {
                        if (state is not null)
                        {
                            state.Gate.Exit();
                        }

                        state = kernel.ClusterForLoad(task.Cluster);
                        state.Gate.Enter();
                    }

                    state.AddTask(task, service: null);
                    highest = Math.Max(highest, task.DesiredSeq);
                    if (state.Instances.TryGetValue(task.InstanceId, out var instance))
                    {
                        instance.DesiredVersion = Math.Max(instance.DesiredVersion, task.DesiredSeq);
                    }
                }
            }
            finally
            {
                state?.Gate.Exit();
            }

            kernel.SeenSeq(highest);
        }

        public void AddLoadBalancing(LoadBalancingObject record)
        {
            var state = kernel.ClusterForLoad(record.Cluster);
            lock (state.Gate)
            {
                state.LoadBalancing.Put(record);
            }

            kernel.IndexLoadBalancing(record);
            if (record is ListenerRecord listener)
            {
                kernel.Certificates.ClaimLoaded(listener.Arn, listener.AllCertificates());
            }
        }

        public void AddCertificate(CertificateRecord certificate)
        {
            lock (kernel.Certificates.Gate)
            {
                kernel.Certificates.Put(certificate);
            }
        }

        public void AddSecurityGroup(SecurityGroupRecord group)
        {
            var state = kernel.ClusterForLoad(group.Cluster);
            lock (state.Gate)
            {
                state.SecurityGroups[group.Id] = group;
            }
        }

        public void AddScalableTarget(ScalableTargetRecord target)
        {
            var state = kernel.ClusterForLoad(target.Cluster);
            lock (state.Gate)
            {
                state.ScalableTargets[target.ServiceName] = target;
            }
        }

        public void AddHostGroup(HostGroupRecord group)
        {
            var state = kernel.ClusterForLoad(group.Cluster);
            lock (state.Gate)
            {
                state.HostGroups[group.Name] = group;
            }
        }

        public void AddCapacityProvider(CapacityProviderRecord provider)
        {
            var state = kernel.ClusterForLoad(provider.Cluster);
            lock (state.Gate)
            {
                state.CapacityProviders[provider.Name] = provider;
            }
        }

        public void AddService(ServiceRecord service)
        {
            var state = kernel.ClusterForLoad(service.Cluster);
            lock (state.Gate)
            {
                state.Services[service.Name] = service;
                if (service.Status == Statuses.Inactive)
                {
                    return;
                }

                // A service's tasks carry its group and a deployment id; indexed once per cluster, not scanned per service.
                if (!_serviceTasks.TryGetValue(service.Cluster, out var byGroup))
                {
                    _serviceTasks[service.Cluster] = byGroup = new(StringComparer.Ordinal);
                    foreach (var task in state.Tasks.Values)
                    {
                        if (task.LastStatus != LifecycleStatus.Stopped && task.Group.StartsWith("service:", StringComparison.Ordinal))
                        {
                            if (!byGroup.TryGetValue(task.Group, out var list))
                            {
                                byGroup[task.Group] = list = [];
                            }

                            list.Add(task);
                        }
                    }
                }

                foreach (var task in byGroup.GetValueOrDefault(service.Group) ?? [])
                {
                    if (service.Deployment(task.StartedBy) is not null)
                    {
                        service.Tasks.Add(task);
                    }
                }
            }
        }
    }
}
