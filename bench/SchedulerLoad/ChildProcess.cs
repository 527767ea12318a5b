using System.Diagnostics;

namespace Berth.Bench.SchedulerLoad;

/// <summary>
/// A program of the build (a <c>.dll</c> that <c>dotnet</c> runs) started as a child of the benchmark: its output read
/// line by line as it comes, its <see cref="Process"/> kept for the figures (CPU time, RSS from /proc), killed when done.
/// The scheduler (<see cref="SchedulerProcess"/>) and bench/LoadBalancerPropagation's balancer replicas are these (that
/// project compiles this file too).
/// </summary>
internal static class ChildProcess
{
    /// <summary>Starts <paramref name="dll"/>; <paramref name="line"/> gets every line of its standard output and error, on the reader's thread.</summary>
    public static Process Start(string dll, IEnumerable<string> arguments, Action<string> line, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo("dotnet") { ArgumentList = { dll }, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { line(e.Data); } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { line(e.Data); } };
        if (!process.Start())
        {
            throw new InvalidOperationException($"could not start {dll}");
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>Waits for <paramref name="ready"/>; throws when the process exits first or <paramref name="timeout"/> passes.</summary>
    public static async Task WaitUntilReadyAsync(Process process, Task ready, TimeSpan timeout, string what)
    {
        var done = await Task.WhenAny(ready, process.WaitForExitAsync(), Task.Delay(timeout));
        if (done != ready)
        {
            throw new InvalidOperationException(process.HasExited ? $"{what}: it exited with {process.ExitCode} first." : $"{what}: not within {timeout}.");
        }

        await ready;
    }

    /// <summary>Kills the process if it still runs, waits until it is gone, and releases it.</summary>
    public static async ValueTask StopAsync(Process process)
    {
        if (!process.HasExited)
        {
            process.Kill();
            await process.WaitForExitAsync();
        }

        process.Dispose();
    }
}
