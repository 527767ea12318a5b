using System.Diagnostics;
using System.Text;

namespace Berth.Scheduler.Provisioning;

/// <summary>What a finished provisioner program said.</summary>
internal sealed record ProvisionerOutput(int ExitCode, string StandardOutput, string StandardError)
{
    /// <summary>Both streams, for an error message: stderr first (where scripts explain themselves).</summary>
    public string Combined => ProvisionerProcess.Combine(StandardOutput, StandardError);
}

/// <summary>
/// Runs one provisioner program (a script, lab/host.sh) with a deadline on the injected clock and the caller's
/// token: at either, the whole process tree is killed. Output is kept bounded, the last part of each stream.
/// </summary>
internal static class ProvisionerProcess
{
    /// <summary>How much of each stream is kept: the end, where a failing script says why.</summary>
    public const int MaxOutputChars = 32 * 1024;

    public static async Task<ProvisionerOutput> RunAsync(
        string what,
        string fileName,
        IReadOnlyList<string> arguments,
        IReadOnlyDictionary<string, string> environment,
        string? standardInput,
        TimeSpan timeout,
        TimeProvider time,
        CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        var stdout = new BoundedText();
        var stderr = new BoundedText();
        using var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => stdout.AppendLine(e.Data);
        process.ErrorDataReceived += (_, e) => stderr.AppendLine(e.Data);

        // The deadline runs on the injected clock, so tests drive it; it starts before the process does.
        using var deadline = new CancellationTokenSource(timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token, cancellationToken);
        try
        {
            process.Start();
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            throw new ProvisionerException($"{what}: cannot start {fileName}: {e.Message}", ProvisionerErrorKind.Failed, inner: e);
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            // A script that does not read its stdin must not fail the call.
            await process.StandardInput.WriteAsync(standardInput ?? "");
            process.StandardInput.Close();
        }
        catch (IOException)
        {
        }

        try
        {
            await process.WaitForExitAsync(linked.Token);
        }
        catch (OperationCanceledException)
        {
            Kill(process);
            if (cancellationToken.IsCancellationRequested)
            {
                throw;
            }

            throw new ProvisionerException($"{what} did not finish within {timeout.TotalSeconds:0.#} s and was killed.", ProvisionerErrorKind.TimedOut, Combine(stdout.ToString(), stderr.ToString()));
        }

        // WaitForExitAsync returns before the asynchronous readers drain; the parameterless WaitForExit waits for them.
        process.WaitForExit();
        return new ProvisionerOutput(process.ExitCode, stdout.ToString(), stderr.ToString());
    }

    public static string Combine(string stdout, string stderr)
    {
        var parts = new List<string>();
        if (stderr.Length > 0)
        {
            parts.Add("stderr:\n" + stderr.TrimEnd());
        }

        if (stdout.Length > 0)
        {
            parts.Add("stdout:\n" + stdout.TrimEnd());
        }

        return string.Join('\n', parts);
    }

    private static void Kill(Process process)
    {
        try
        {
            // The whole tree: a script's children (a VM tool, a sleep) must not outlive the call.
            process.Kill(entireProcessTree: true);
            process.WaitForExit(TimeSpan.FromSeconds(10));
        }
        catch (InvalidOperationException)
        {
            // It exited meanwhile.
        }
    }

    /// <summary>The last <see cref="MaxOutputChars"/> characters of a stream, appended to from the reader threads.</summary>
    private sealed class BoundedText
    {
        private readonly StringBuilder _text = new();
        private readonly Lock _lock = new();
        private bool _truncated;

        public void AppendLine(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (_lock)
            {
                _text.AppendLine(line);
                if (_text.Length > MaxOutputChars)
                {
                    _text.Remove(0, _text.Length - MaxOutputChars);
                    _truncated = true;
                }
            }
        }

        public override string ToString()
        {
            lock (_lock)
            {
                return _truncated ? "[...]\n" + _text : _text.ToString();
            }
        }
    }
}
