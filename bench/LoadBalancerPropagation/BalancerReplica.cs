using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Berth.Bench.SchedulerLoad;
using Berth.TestSupport;

namespace Berth.Bench.LoadBalancerPropagation;

/// <summary>A target change a replica serves: the replica's own clock when its routing took it (UTC).</summary>
internal readonly record struct TargetApplied(string TargetGroupArn, string Target, string Change, long Version, DateTime At);

/// <summary>
/// A balancer replica as its own process (the balancer's Release build, deploy/loadbalancer.env), with its own
/// credential, data dir and listen address. "Applied" is read from its own log: at Debug, <c>ConfigStore</c> writes one
/// line per target change once the new model is published (routing serves it), time-stamped by the console logger on
/// the applying thread, so neither the pipe nor this reader's delay is in the figure.
/// </summary>
internal sealed partial class BalancerReplica : IAsyncDisposable
{
    private const string TimestampFormat = "yyyy-MM-ddTHH:mm:ss.ffffff";
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly int _groups;
    private int _deltas;

    private BalancerReplica(int index, string build, int groups)
    {
        Index = index;
        Build = build;
        _groups = groups;
    }

    public int Index { get; }

    /// <summary>Which balancer build it runs (<c>--balancer NAME=DLL</c>; "this" for the build beside the benchmark).</summary>
    public string Build { get; }

    /// <summary>Its name in the report.</summary>
    public string Name => $"balancer {Index} ({Build})";

    public Process Process { get; private set; } = null!;

    /// <summary>Configurations applied (the snapshot and every delta).</summary>
    public int Applied => Volatile.Read(ref _deltas);

    /// <summary>Raised on the reader's thread for every target change the replica logs.</summary>
    public event Action<BalancerReplica, TargetApplied>? TargetApplied;

    public static BalancerReplica Start(int index, string build, string dll, IReadOnlyDictionary<string, string> environment, Uri scheduler, string tokenFile, string dataDir, string listenAddress, int groups)
    {
        var replica = new BalancerReplica(index, build, groups);
        // Its lines reach OnLine from the first one on: the replica exists before its process.
        replica.Process = ChildProcess.Start(dll,
        [
            "--scheduler-url", scheduler.ToString(),
            "--token-file", tokenFile,
            "--data-dir", dataDir,
            "--listen-address", listenAddress,
            "--admin-url", $"http://127.0.0.1:{TestPorts.Next()}",
            "--Logging:LogLevel:Default", "Warning",
            "--Logging:LogLevel:Berth.LoadBalancer.State.ConfigStore", "Debug",
            "--Logging:Console:FormatterName", "simple",
            "--Logging:Console:FormatterOptions:SingleLine", "true",
            "--Logging:Console:FormatterOptions:UseUtcTimestamp", "true",
            "--Logging:Console:FormatterOptions:ColorBehavior", "Disabled",
            "--Logging:Console:FormatterOptions:TimestampFormat", TimestampFormat + " ",
        ], replica.OnLine, environment);
        return replica;
    }

    /// <summary>Completes when the replica serves a configuration with every target group.</summary>
    public Task WaitUntilServingAsync(TimeSpan timeout) =>
        ChildProcess.WaitUntilReadyAsync(Process, _ready.Task, timeout, $"balancer {Index} to serve {_groups} target groups");

    private void OnLine(string line)
    {
        if (line.Length == 0)
        {
            return;
        }

        var m = LogLine().Match(line);
        if (!m.Success)
        {
            Console.WriteLine($"  [balancer {Index}] {line}");
            return;
        }

        var message = m.Groups["message"].Value;
        if (TargetLine().Match(message) is { Success: true } t)
        {
            var at = DateTime.ParseExact(m.Groups["ts"].Value, TimestampFormat, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);
            TargetApplied?.Invoke(this, new TargetApplied(t.Groups["group"].Value, t.Groups["target"].Value, t.Groups["change"].Value, long.Parse(t.Groups["version"].Value, CultureInfo.InvariantCulture), at));
            return;
        }

        if (AppliedLine().Match(message) is { Success: true } a)
        {
            Interlocked.Increment(ref _deltas);
            if (int.Parse(a.Groups["groups"].Value, CultureInfo.InvariantCulture) >= _groups)
            {
                _ready.TrySetResult();
            }

            return;
        }

        Console.WriteLine($"  [balancer {Index}] {line}");
    }

    [GeneratedRegex(@"^(?<ts>\S+) (?<level>\w+): (?<category>[^\[]+)\[\d+\] (?<message>.*)$")]
    private static partial Regex LogLine();

    [GeneratedRegex(@"^Version (?<version>\d+) serves target (?<target>\S+) (?<change>registered|draining|removed) in (?<group>\S+)$")]
    private static partial Regex TargetLine();

    [GeneratedRegex(@"^Configuration \S+ applied: \d+ listeners, (?<groups>\d+) target groups$")]
    private static partial Regex AppliedLine();

    public ValueTask DisposeAsync() => ChildProcess.StopAsync(Process);
}
