namespace Berth.Cli.Common;

/// <summary>
/// What the CLI reads from its surroundings: where <c>~/.berth</c> is and the environment variables. Tests pass
/// their own so that they never touch the real home directory.
/// </summary>
/// <param name="HomeDirectory">The CLI's own directory (<c>~/.berth</c>, or <c>BERTH_HOME</c>).</param>
/// <param name="Variable">Reads an environment variable; null when unset.</param>
internal sealed record CliEnvironment(string HomeDirectory, Func<string, string?> Variable)
{
    /// <summary>The real process environment.</summary>
    public static CliEnvironment FromProcess() => new(
        Environment.GetEnvironmentVariable("BERTH_HOME") is { Length: > 0 } home
            ? home
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".berth"),
        Environment.GetEnvironmentVariable);
}
