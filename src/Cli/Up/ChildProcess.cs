using System.Diagnostics;

namespace Berth.Cli.Up;

/// <summary>
/// One part of the local platform run as a child process from its build output (<c>dotnet Berth.X.dll</c>), its
/// output appended to a log file. Stopped with SIGTERM, as systemd would, so each part shuts down the way it does
/// in production.
/// </summary>
internal sealed class ChildProcess : IDisposable
{
    private readonly Process _process;
    private readonly StreamWriter _log;

    private ChildProcess(string name, Process process, StreamWriter log, string logPath)
    {
        Name = name;
        _process = process;
        _log = log;
        LogPath = logPath;
    }

    public string Name { get; }

    public string LogPath { get; }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public Task Exited => _process.WaitForExitAsync();

    public static ChildProcess Start(string name, string dll, IEnumerable<string> arguments, string logPath, IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(dll);
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        // Plain logs in the files: no ANSI colours, one line per entry.
        info.Environment["DOTNET_NOLOGO"] = "1";
        // Standard input stays a pipe from this process (RedirectStandardInput): the child exits when it closes,
        // so killing `berth up`, even with SIGKILL, leaves no part of the platform behind.
        info.Environment["BERTH_STOP_WITH_PARENT"] = "1";
        info.Environment["Logging__Console__FormatterName"] = "simple";
        info.Environment["Logging__Console__FormatterOptions__SingleLine"] = "true";
        info.Environment["Logging__Console__FormatterOptions__ColorBehavior"] = "Disabled";
        info.Environment["Logging__Console__FormatterOptions__TimestampFormat"] = "HH:mm:ss.fff ";
        // Request-per-line logs of ASP.NET Core would drown what matters.
        info.Environment["Logging__LogLevel__Microsoft.AspNetCore"] = "Warning";
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        var logOptions = new FileStreamOptions { Mode = FileMode.Append, Access = FileAccess.Write, Share = FileShare.ReadWrite };
        if (!OperatingSystem.IsWindows())
        {
            // Owner-only like the rest of the data directory (PlatformDataDirectory made logs/ 0700).
            logOptions.UnixCreateMode = Core.IO.PrivateDirectory.FileMode;
        }

        var log = new StreamWriter(new FileStream(logPath, logOptions)) { AutoFlush = true };
        var process = new Process { StartInfo = info };
        void Append(object? sender, DataReceivedEventArgs e)
        {
            if (e.Data is not null)
            {
                lock (log)
                {
                    log.WriteLine(e.Data);
                }
            }
        }

        process.OutputDataReceived += Append;
        process.ErrorDataReceived += Append;
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new ChildProcess(name, process, log, logPath);
    }

    /// <summary>SIGTERM, then SIGKILL if it has not exited within <paramref name="grace"/>.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        if (_process.HasExited)
        {
            return;
        }

        // .NET has no SIGTERM for another process: kill(2) itself. A part that is already exiting (Ctrl-C reaches the
        // whole process group, and each part stops on its own SIGINT) is gone by now, and that is no error to print.
        if (!Common.Posix.Signal(_process.Id, Common.Posix.SigTerm))
        {
            await _process.WaitForExitAsync();
            return;
        }

        try
        {
            await _process.WaitForExitAsync().WaitAsync(grace);
        }
        catch (TimeoutException)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
    }

    /// <summary>The last lines of its log, to show why it stopped.</summary>
    public IEnumerable<string> Tail(int lines)
    {
        try
        {
            using var stream = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            var all = reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
            return all.TakeLast(lines);
        }
        catch (IOException)
        {
            return [];
        }
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.Dispose();
        lock (_log)
        {
            _log.Dispose();
        }
    }
}
