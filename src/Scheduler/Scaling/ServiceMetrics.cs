namespace Berth.Scheduler.Scaling;

/// <summary>
/// The latest utilization sample of every task, and per service the running sums of them, so that the scaling pass reads
/// a service's average in O(1) and ingesting a sample costs two dictionary updates. Utilization is ECS's: CPU used over
/// the task's reserved CPU units (1,024 units, one vCPU, when the task reserves none), memory used over reserved memory,
/// both in percent (above 100 when a task uses more than it reserved). A sample older than the window no longer counts
/// (<see cref="Expire"/>); a stopped task's sample is dropped (<see cref="Forget"/>). Thread-safe: agents' sessions ingest
/// concurrently while the pass reads.
/// </summary>
internal sealed class ServiceMetrics
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Sample> _tasks = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Sums> _services = new(StringComparer.Ordinal);

    /// <summary>Number of tasks with a sample.</summary>
    public int TaskCount
    {
        get
        {
            lock (_lock)
            {
                return _tasks.Count;
            }
        }
    }

    /// <summary>CPU utilization in percent of what the task reserves.</summary>
    public static double CpuPercent(double cpuUnitsUsed, int reservedCpuUnits) => cpuUnitsUsed * 100.0 / (reservedCpuUnits > 0 ? reservedCpuUnits : 1024);

    /// <summary>Memory utilization in percent of what the task reserves.</summary>
    public static double MemoryPercent(double memoryMiBUsed, int reservedMemoryMiB) => reservedMemoryMiB > 0 ? memoryMiBUsed * 100.0 / reservedMemoryMiB : 0;

    /// <summary>Records a task's newest sample (replacing its previous one).</summary>
    /// <param name="taskId">The task.</param>
    /// <param name="service">The service key (cluster and service name) the task counts for.</param>
    /// <param name="cpuPercent">CPU utilization, see <see cref="CpuPercent"/>.</param>
    /// <param name="memoryPercent">Memory utilization, see <see cref="MemoryPercent"/>.</param>
    /// <param name="at">When it was sampled.</param>
    public void Ingest(string taskId, string service, double cpuPercent, double memoryPercent, DateTimeOffset at)
    {
        lock (_lock)
        {
            if (_tasks.TryGetValue(taskId, out var old))
            {
                old.Service.Remove(old.Cpu, old.Memory);
            }

            if (old?.Service.Key != service)
            {
                if (!_services.TryGetValue(service, out var sums))
                {
                    sums = new Sums(service);
                    _services[service] = sums;
                }

                old = new Sample(sums);
                _tasks[taskId] = old;
            }

            old.Cpu = cpuPercent;
            old.Memory = memoryPercent;
            old.At = at;
            old.Service.Add(cpuPercent, memoryPercent);
        }
    }

    /// <summary>Drops a task's sample (it stopped).</summary>
    public void Forget(string taskId)
    {
        lock (_lock)
        {
            if (_tasks.Remove(taskId, out var old))
            {
                old.Service.Remove(old.Cpu, old.Memory);
            }
        }
    }

    /// <summary>The service's average of the metric over its tasks' current samples; null when no task reported.</summary>
    public MetricValue? Read(string service, ScalingMetric metric)
    {
        lock (_lock)
        {
            if (!_services.TryGetValue(service, out var sums) || sums.Count == 0)
            {
                return null;
            }

            return new MetricValue((metric == ScalingMetric.CpuUtilization ? sums.Cpu : sums.Memory) / sums.Count, sums.Count);
        }
    }

    /// <summary>Drops samples taken before <paramref name="before"/>; returns how many.</summary>
    public int Expire(DateTimeOffset before)
    {
        lock (_lock)
        {
            var stale = _tasks.Where(t => t.Value.At < before).Select(t => t.Key).ToList();
            foreach (var id in stale)
            {
                _tasks.Remove(id, out var old);
                old!.Service.Remove(old.Cpu, old.Memory);
            }

            return stale.Count;
        }
    }

    private sealed class Sample(Sums service)
    {
        public Sums Service { get; } = service;

        public double Cpu { get; set; }

        public double Memory { get; set; }

        public DateTimeOffset At { get; set; }
    }

    private sealed class Sums(string key)
    {
        public string Key { get; } = key;

        public double Cpu { get; private set; }

        public double Memory { get; private set; }

        public int Count { get; private set; }

        public void Add(double cpu, double memory)
        {
            Cpu += cpu;
            Memory += memory;
            Count++;
        }

        public void Remove(double cpu, double memory)
        {
            Count--;
            // Sums of doubles drift; an empty service starts again from exactly zero.
            (Cpu, Memory) = Count == 0 ? (0, 0) : (Cpu - cpu, Memory - memory);
        }
    }
}
