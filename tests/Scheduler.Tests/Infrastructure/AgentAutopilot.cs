using Berth.Scheduler.V1;
using Berth.TestSupport;

namespace Berth.Scheduler.Tests.Infrastructure;

/// <summary>What a simulated host does with a task it is asked to run.</summary>
internal enum TaskOutcome
{
    /// <summary>Runs; its health check (when reported) turns HEALTHY after <see cref="AgentAutopilot.HealthyAfter"/>.</summary>
    Healthy,

    /// <summary>Runs, and its health check reports UNHEALTHY.</summary>
    Unhealthy,

    /// <summary>Its essential container exits at once (the task stops with ESSENTIAL_CONTAINER_EXITED).</summary>
    ExitsAtOnce,

    /// <summary>Its image cannot be pulled (the task stops with TASK_FAILED_TO_START and the agent's CannotPullContainerError).</summary>
    FailsToStart,

    /// <summary>Nothing is reported yet (a slow pull): the task stays PENDING, asked again at every step until the behaviour changes.</summary>
    Waits,
}

/// <summary>
/// Drives a <see cref="SimulatedAgent"/> the way a real agent converges: every task its newest desired state wants
/// RUNNING is reported RUNNING (or fails, per <see cref="Behaviour"/>), every task it wants STOPPED is reported STOPPED.
/// It also keeps the set of tasks "running on the host", which tests sample to check what really ran at any moment.
/// </summary>
internal sealed class AgentAutopilot : IAsyncDisposable
{
    private readonly SimulatedAgent _agent;
    private readonly Dictionary<string, LifecycleStatus> _reported = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTime> _healthyAt = new(StringComparer.Ordinal);
    private readonly HashSet<string> _runningHealthy = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _addresses = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    /// <param name="agent">The connected agent it drives.</param>
    /// <param name="reportHealth">Whether RUNNING reports carry a health status.</param>
    /// <param name="alreadyRunning">Tasks the agent's snapshot said it runs (a host that comes back): it runs them from the start.</param>
    public AgentAutopilot(SimulatedAgent agent, bool reportHealth = false, IEnumerable<string>? alreadyRunning = null)
    {
        _agent = agent;
        ReportHealth = reportHealth;
        foreach (var id in alreadyRunning ?? [])
        {
            _reported[id] = LifecycleStatus.Running;
        }

        _loop = Task.Run(LoopAsync);
    }

    public SimulatedAgent Agent => _agent;

    /// <summary>Whether RUNNING reports carry a health status (for task definitions with a health check).</summary>
    public bool ReportHealth { get; }

    /// <summary>How long after RUNNING a healthy task's health check passes.</summary>
    public TimeSpan HealthyAfter { get; set; } = TimeSpan.FromMilliseconds(300);

    /// <summary>What happens to each task, by its desired entry; healthy by default.</summary>
    public Func<DesiredTask, TaskOutcome> Behaviour { get; set; } = _ => TaskOutcome.Healthy;

    /// <summary>Tasks running on this host that are healthy (RUNNING, and HEALTHY when health is reported).</summary>
    public IReadOnlyList<string> RunningHealthy()
    {
        lock (_reported)
        {
            return [.. _runningHealthy];
        }
    }

    /// <summary>Tasks running on this host, healthy or not.</summary>
    public IReadOnlyList<string> Running()
    {
        lock (_reported)
        {
            return [.. _reported.Where(r => r.Value == LifecycleStatus.Running).Select(r => r.Key)];
        }
    }

    private async Task LoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await StepAsync();
                await Task.Delay(25, _stop.Token);
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is Grpc.Core.RpcException or InvalidOperationException or TimeoutException)
            {
                // The session is gone (a test disconnected the agent); keep trying until disposed.
                await Task.Delay(100);
            }
        }
    }

    private async Task StepAsync()
    {
        var desired = _agent.Desired;
        if (desired is null)
        {
            return;
        }

        foreach (var task in desired.Tasks)
        {
            LifecycleStatus reported;
            lock (_reported)
            {
                reported = _reported.GetValueOrDefault(task.TaskId);
            }

            if (task.DesiredStatus == LifecycleStatus.Running && reported == LifecycleStatus.Unspecified)
            {
                var outcome = Behaviour(task);
                if (outcome == TaskOutcome.Waits)
                {
                    continue;
                }

                if (outcome == TaskOutcome.FailsToStart)
                {
                    await _agent.ReportAsync(task.TaskId, LifecycleStatus.Stopped, r =>
                    {
                        r.StopCode = StopCode.TaskFailedToStart;
                        r.StoppedReason = "CannotPullContainerError: pull access denied for registry.local/missing, repository does not exist or may require 'docker login'";
                    });
                    Set(task.TaskId, LifecycleStatus.Stopped, healthy: false);
                    continue;
                }

                if (outcome == TaskOutcome.ExitsAtOnce)
                {
                    await _agent.ReportAsync(task.TaskId, LifecycleStatus.Stopped, r =>
                    {
                        r.StopCode = StopCode.EssentialContainerExited;
                        r.StoppedReason = "Essential container in task exited";
                    });
                    Set(task.TaskId, LifecycleStatus.Stopped, healthy: false);
                    continue;
                }

                var health = !ReportHealth ? HealthStatus.Unspecified : outcome == TaskOutcome.Unhealthy ? HealthStatus.Unhealthy : HealthStatus.Unknown;
                var attachment = AttachmentFor(task);
                await _agent.ReportAsync(task.TaskId, LifecycleStatus.Running, r =>
                {
                    r.HealthStatus = health;
                    r.NetworkAttachment = attachment;
                });
                Set(task.TaskId, LifecycleStatus.Running, healthy: !ReportHealth);
                if (ReportHealth && outcome == TaskOutcome.Healthy)
                {
                    lock (_reported)
                    {
                        _healthyAt[task.TaskId] = DateTime.UtcNow + HealthyAfter;
                    }
                }
            }
            else if (task.DesiredStatus == LifecycleStatus.Stopped && reported is LifecycleStatus.Running or LifecycleStatus.Unspecified)
            {
                // Mark it gone from the host before reporting: the sample never counts a task the agent is stopping.
                Set(task.TaskId, LifecycleStatus.Stopped, healthy: false);
                await _agent.ReportAsync(task.TaskId, LifecycleStatus.Stopped, r => r.StopCode = task.StopCode);
            }
        }

        // Every desired state is the host's complete set (agent.proto): a task it runs that the set no longer lists is
        // stopped, as the real agent's TaskPlanner does ("Task is no longer in the scheduler's desired set").
        var listed = desired.Tasks.Select(t => t.TaskId).ToHashSet(StringComparer.Ordinal);
        foreach (var gone in Running().Where(id => !listed.Contains(id)))
        {
            Set(gone, LifecycleStatus.Stopped, healthy: false);
            await _agent.ReportAsync(gone, LifecycleStatus.Stopped, r => r.StopCode = StopCode.ServiceSchedulerInitiated);
        }

        List<string> due;
        lock (_reported)
        {
            due = [.. _healthyAt.Where(h => h.Value <= DateTime.UtcNow).Select(h => h.Key)];
            foreach (var id in due)
            {
                _healthyAt.Remove(id);
            }
        }

        foreach (var id in due)
        {
            bool running;
            lock (_reported)
            {
                running = _reported.GetValueOrDefault(id) == LifecycleStatus.Running;
            }

            if (running)
            {
                await _agent.ReportAsync(id, LifecycleStatus.Running, r => r.HealthStatus = HealthStatus.Healthy);
                Set(id, LifecycleStatus.Running, healthy: true);
            }
        }
    }

    /// <summary>The address this host gave each awsvpc task it ran, by task id.</summary>
    public IReadOnlyDictionary<string, string> Addresses
    {
        get
        {
            lock (_reported)
            {
                return new Dictionary<string, string>(_addresses, StringComparer.Ordinal);
            }
        }
    }

    /// <summary>
    /// An awsvpc task's network interface as the real agent reports it with RUNNING: the next free address of the task
    /// subnet its desired entry names (host part 10 upwards, never reused). Null for other tasks.
    /// </summary>
    private TaskNetworkAttachment? AttachmentFor(DesiredTask task)
    {
        if (task.AwsvpcConfiguration is not { Subnet.Length: > 0 } awsvpc)
        {
            return null;
        }

        var subnet = System.Net.IPNetwork.Parse(awsvpc.Subnet);
        var bytes = subnet.BaseAddress.GetAddressBytes();
        string address;
        lock (_reported)
        {
            var host = 10 + _addresses.Count;
            bytes[2] += (byte)(host >> 8);
            bytes[3] += (byte)host;
            address = new System.Net.IPAddress(bytes).ToString();
            _addresses[task.TaskId] = address;
        }

        return new TaskNetworkAttachment { Ipv4Address = address, Subnet = awsvpc.Subnet };
    }

    /// <summary>A running task's essential container exits on its own (a crash the scheduler did not ask for).</summary>
    public async Task CrashAsync(string taskId)
    {
        Set(taskId, LifecycleStatus.Stopped, healthy: false);
        await _agent.ReportAsync(taskId, LifecycleStatus.Stopped, r =>
        {
            r.StopCode = StopCode.EssentialContainerExited;
            r.StoppedReason = "Essential container in task exited";
        });
    }

    private void Set(string taskId, LifecycleStatus status, bool healthy)
    {
        lock (_reported)
        {
            _reported[taskId] = status;
            if (healthy && status == LifecycleStatus.Running)
            {
                _runningHealthy.Add(taskId);
            }
            else
            {
                _runningHealthy.Remove(taskId);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop.WithTimeout();
        _stop.Dispose();
    }
}
