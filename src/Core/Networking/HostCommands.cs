using System.Diagnostics;
using System.Text;

namespace Berth.Core.Networking;

/// <summary>What a host tool answered (exit code, standard output and error).</summary>
public sealed record CommandResult(int ExitCode, string StandardOutput, string StandardError)
{
    /// <summary>Whether the tool exited with 0.</summary>
    public bool Succeeded => ExitCode == 0;

    /// <summary>The tool's own words for a failure, for error messages.</summary>
    public string Message => (StandardError.Trim().Length > 0 ? StandardError : StandardOutput).Trim();
}

/// <summary>
/// The host tools the agent (task networking: <c>ip</c>, <c>iptables-restore</c>, CNI plugins) and the balancer (routes
/// to task subnets) drive. Behind an interface so that the rule and route logic is tested with a recording fake; the
/// real one runs the programs in the process's own network namespace (a lab host's, when the agent runs in one).
/// </summary>
public interface IHostCommands
{
    /// <summary>Runs <paramref name="fileName"/> with <paramref name="arguments"/> (no shell) and returns what it answered.</summary>
    Task<CommandResult> RunAsync(string fileName, IReadOnlyList<string> arguments, string? standardInput = null, IReadOnlyDictionary<string, string>? environment = null, CancellationToken cancellationToken = default);
}

/// <summary>Runs host tools as child processes, with a deadline.</summary>
public sealed class ProcessHostCommands : IHostCommands
{
    /// <summary>Long enough for a CNI ADD on a loaded host, short enough that a wedged tool fails one task, not the agent.</summary>
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);

    /// <inheritdoc/>
    public async Task<CommandResult> RunAsync(string fileName, IReadOnlyList<string> arguments, string? standardInput = null, IReadOnlyDictionary<string, string>? environment = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        using var process = new Process { StartInfo = info };
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            return new CommandResult(127, string.Empty, $"{fileName}: {ex.Message}");
        }

        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        if (standardInput is not null)
        {
            await process.StandardInput.WriteAsync(new StringBuilder(standardInput), cancellationToken);
        }

        process.StandardInput.Close();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(s_timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            if (cancellationToken.IsCancellationRequested)
            {
                throw;
            }

            return new CommandResult(124, string.Empty, $"{fileName} {string.Join(' ', arguments)} did not finish within {s_timeout.TotalSeconds:0} s");
        }

        return new CommandResult(process.ExitCode, await stdout, await stderr);
    }
}
