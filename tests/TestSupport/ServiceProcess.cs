using System.Diagnostics;

namespace Berth.TestSupport;

/// <summary>
/// A long-running Berth process under test (scheduler, agent, registry) with its output forwarded to the test
/// log. <see cref="KillAsync"/> is kill -9; <see cref="StopAsync"/> is SIGTERM and a wait, as systemd would stop it.
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    private readonly Process _process;

    private ServiceProcess(Process process, string name)
    {
        _process = process;
        Name = name;
    }

    public string Name { get; }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>Starts <paramref name="fileName"/>; a <c>.dll</c> runs through <c>dotnet</c>.</summary>
    public static ServiceProcess Start(string name, string fileName, IEnumerable<string> arguments, Action<string>? log = null, IDictionary<string, string>? environment = null)
    {
        var info = fileName.EndsWith(".dll", StringComparison.Ordinal)
            ? new ProcessStartInfo("dotnet") { ArgumentList = { fileName } }
            : new ProcessStartInfo(fileName);
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.UseShellExecute = false;
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        var process = new Process { StartInfo = info };
        void Forward(object? sender, DataReceivedEventArgs e)
        {
            if (e.Data is null || log is null)
            {
                return;
            }

            try
            {
                log($"{DateTime.UtcNow:HH:mm:ss.fff} [{name}] {e.Data}");
            }
            catch (InvalidOperationException)
            {
                // The test that owned the log has finished.
            }
        }

        process.OutputDataReceived += Forward;
        process.ErrorDataReceived += Forward;
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new ServiceProcess(process, name);
    }

    /// <summary>SIGKILL (its children too, unless <paramref name="entireProcessTree"/> is false), and wait until it is gone.</summary>
    public async Task KillAsync(bool entireProcessTree = true)
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree);
        }

        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary>SIGTERM, wait up to <paramref name="timeout"/>, then SIGKILL.</summary>
    public async Task StopAsync(TimeSpan? timeout = null)
    {
        if (_process.HasExited)
        {
            return;
        }

        await ProcessRunner.RunAsync("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        try
        {
            await _process.WaitForExitAsync().WaitAsync(timeout ?? TimeSpan.FromSeconds(30));
        }
        catch (TimeoutException)
        {
            await KillAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process.Dispose();
    }
}
