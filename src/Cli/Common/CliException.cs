namespace Berth.Cli.Common;

/// <summary>A failure the user can act on: its message is printed as it is (no stack trace) and the CLI exits with <see cref="ExitCode"/>.</summary>
internal sealed class CliException(string message, int exitCode = ExitCodes.Failure) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}

/// <summary>The CLI's exit codes (documented in docs/cli.md).</summary>
internal static class ExitCodes
{
    /// <summary>Done.</summary>
    public const int Success = 0;

    /// <summary>The call failed (the message says why and what to do).</summary>
    public const int Failure = 1;

    /// <summary>The command line was wrong (unknown option, missing argument, bad value).</summary>
    public const int Usage = 2;

    /// <summary>A deployment or task watched with <c>--wait</c> failed, or the wait timed out.</summary>
    public const int WaitFailed = 3;

    /// <summary>Interrupted (Ctrl-C), as shells report SIGINT.</summary>
    public const int Interrupted = 130;
}
