using Berth.Agent.Configuration;
using Berth.Agent.Exec;
using Berth.Agent.Logs;
using Berth.Agent.Hosting;
using Berth.Agent.Runtime;
using Berth.Agent.Tasks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Xunit.Abstractions;

namespace Berth.Agent.Tests.Tasks;

/// <summary>
/// The agent's task side (engine, reconcile loop, event watcher) against a real engine, in-process. Disposing it
/// is an agent crash: the loops end, the containers stay. <see cref="RemoveContainersAsync"/> cleans up.
/// </summary>
internal sealed class AgentHarness : IAsyncDisposable
{
    private readonly ReconcileLoop _loop;
    private readonly EngineWatcher _watcher;
    private readonly ILoggerFactory _logs;

    /// <param name="cleanup">Stopped-task cleanup (default: containers removed at once, as before retention, so tests leave nothing behind).</param>
    /// <param name="cleanupClock">The clock of the cleanup wait and the saved lines (a fake one lets a test pass the wait without waiting).</param>
    public AgentHarness(IContainerRuntime runtime, string scope, string stateDir, ITestOutputHelper output, ImagePullBehavior pull = ImagePullBehavior.PreferCached,
        TaskCleanupOptions? cleanup = null, TimeProvider? cleanupClock = null, Action<AgentOptions>? configure = null)
    {
        Runtime = runtime;
        var options = new AgentOptions
        {
            SchedulerUrl = new Uri("http://127.0.0.1:1"),
            Scope = scope,
            DataDirectory = stateDir,
            StopTimeout = TimeSpan.FromSeconds(2),
            ReconcileInterval = TimeSpan.FromSeconds(2),
            ImagePullBehavior = pull,
            TaskCleanup = cleanup ?? new TaskCleanupOptions { Wait = TimeSpan.Zero },
        };
        configure?.Invoke(options);
        Options = Microsoft.Extensions.Options.Options.Create(options);
        _logs = LoggerFactory.Create(b => b.AddProvider(new TestOutputLoggerProvider(output)).SetMinimumLevel(LogLevel.Debug));
        Images = new ImageStore(runtime, Options, AgentDataDirectory.Open(Options.Value.DataDirectory), TimeProvider.System, _logs.CreateLogger<ImageStore>());
        Archive = AgentParts.CreateArchive(Options, cleanupClock ?? TimeProvider.System);
        Retention = AgentParts.CreateRetention(runtime, Archive, Options, cleanupClock ?? TimeProvider.System, _logs);
        Engine = AgentParts.CreateTaskEngine(runtime, Images, Retention, Options, TimeProvider.System, _logs);
        Logs = new TaskLogReader(runtime, Engine, Archive, Options);
        Exec = new ExecSessions(runtime, Engine, _logs.CreateLogger<ExecSessions>());
        _loop = new ReconcileLoop(Engine, Options, TimeProvider.System);
        _watcher = new EngineWatcher(runtime, Engine, Options, TimeProvider.System, _logs.CreateLogger<EngineWatcher>());
    }

    public IContainerRuntime Runtime { get; }

    public IOptions<AgentOptions> Options { get; }

    public ImageStore Images { get; }

    public TaskEngine Engine { get; }

    public LogArchive Archive { get; }

    public StoppedTaskRetention Retention { get; }

    public TaskLogReader Logs { get; }

    public ExecSessions Exec { get; }

    public async Task StartAsync()
    {
        await _watcher.StartAsync(CancellationToken.None);
        await _loop.StartAsync(CancellationToken.None);
    }

    /// <summary>Waits until the report of <paramref name="taskId"/> satisfies <paramref name="condition"/>; returns it.</summary>
    public async Task<TaskStatusReport> WaitForAsync(string taskId, Func<TaskStatusReport, bool> condition, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        TaskStatusReport? last = null;
        while (true)
        {
            var changed = Engine.ReportsChanged;
            last = Engine.Snapshot().FirstOrDefault(r => r.TaskId == taskId);
            if (last is not null && condition(last))
            {
                return last;
            }

            try
            {
                await changed.WaitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"Task {taskId} did not reach the expected state; last report: {Describe(last)}");
            }
        }
    }

    public Task<IReadOnlyList<ContainerDetails>> ContainersAsync() =>
        Runtime.ListContainersAsync(new Dictionary<string, string> { [ContainerLabels.Agent] = Options.Value.Scope }, CancellationToken.None);

    public async Task RemoveContainersAsync()
    {
        foreach (var c in await ContainersAsync())
        {
            await Runtime.RemoveContainerAsync(c.Id, CancellationToken.None);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _loop.StopAsync(CancellationToken.None);
        await _watcher.StopAsync(CancellationToken.None);
        _loop.Dispose();
        _watcher.Dispose();
        await Engine.WhenIdleAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
        _logs.Dispose();
    }

    public static string Describe(TaskStatusReport? r) => r is null ? "(none)"
        : $"{r.Status} {r.StopCode} '{r.StoppedReason}' health={r.Health} [{string.Join(", ", r.Containers.Select(c => $"{c.Name}={c.Status} exit={c.ExitCode} reason='{c.Reason}' health={c.Health}"))}]";
}

/// <summary>Agent logs into the test output.</summary>
internal sealed class TestOutputLoggerProvider(ITestOutputHelper output) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new Logger(output, categoryName[(categoryName.LastIndexOf('.') + 1)..]);

    public void Dispose()
    {
    }

    private sealed class Logger(ITestOutputHelper output, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            try
            {
                output.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} {logLevel,-11} {category}: {formatter(state, exception)}{(exception is null ? "" : " " + exception)}");
            }
            catch (InvalidOperationException)
            {
                // The test has finished; its output is closed.
            }
        }
    }
}
