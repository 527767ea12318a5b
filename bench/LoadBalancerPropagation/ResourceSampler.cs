using System.Diagnostics;

namespace Berth.Bench.LoadBalancerPropagation;

/// <summary>CPU time (user + system) of each process over the measured window, and its RSS sampled every 250 ms.</summary>
internal sealed class ResourceSampler : IDisposable
{
    private readonly List<(string Name, Process Process)> _processes;
    private readonly double[] _cpuAtStart;
    private readonly double[] _cpu;
    private readonly long[] _peakRssKiB;
    private readonly long[] _lastRssKiB;
    private readonly CancellationTokenSource _stop = new();
    private readonly Stopwatch _wall = new();

    public ResourceSampler(IEnumerable<(string Name, Process Process)> processes)
    {
        _processes = [.. processes, ("bench (client)", Process.GetCurrentProcess())];
        _cpuAtStart = new double[_processes.Count];
        _cpu = new double[_processes.Count];
        _peakRssKiB = new long[_processes.Count];
        _lastRssKiB = new long[_processes.Count];
    }

    public void Start()
    {
        for (var i = 0; i < _processes.Count; i++)
        {
            _cpuAtStart[i] = CpuSeconds(_processes[i].Process);
        }

        _wall.Start();
        _ = SampleAsync(_stop.Token);
    }

    public void Stop()
    {
        _wall.Stop();
        for (var i = 0; i < _processes.Count; i++)
        {
            _cpu[i] = CpuSeconds(_processes[i].Process) - _cpuAtStart[i];
        }

        _stop.Cancel();
    }

    public IEnumerable<(string Name, double CpuPercent, double PeakRssMiB, double EndRssMiB, double HwmMiB)> Results =>
        _processes.Select((p, i) => (p.Name, 100 * _cpu[i] / _wall.Elapsed.TotalSeconds, _peakRssKiB[i] / 1024.0, _lastRssKiB[i] / 1024.0,
            Machine.StatusKiB(p.Process.Id, "VmHWM") / 1024.0));

    private async Task SampleAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(250));
        do
        {
            for (var i = 0; i < _processes.Count; i++)
            {
                var rss = Machine.StatusKiB(_processes[i].Process.Id, "VmRSS");
                _lastRssKiB[i] = rss;
                _peakRssKiB[i] = Math.Max(_peakRssKiB[i], rss);
            }
        }
        while (await timer.WaitForNextTickAsync(ct).AsTask().ContinueWith(t => !t.IsCanceled && t.Result, TaskScheduler.Default));
    }

    public void Dispose() => _stop.Dispose();

    private static double CpuSeconds(Process process)
    {
        process.Refresh();
        return process.TotalProcessorTime.TotalSeconds;
    }
}
