namespace Berth.Core.Hosting;

/// <summary>
/// Names of the files the services leave in their data directories for people and other tools to pick up. One
/// spelling for the services that write them, <c>berth up</c> and the tests that read them; docker-compose.yml and
/// the docs use the same names (a test keeps compose in step).
/// </summary>
public static class WellKnownFiles
{
    /// <summary>The registry's first administrator password (user <c>admin</c>), written once on the first start.</summary>
    public const string InitialAdminPassword = "initial-admin-password";

    /// <summary>The scheduler's control-plane API token (the CLI's <c>berth login --token</c>).</summary>
    public const string AdminToken = "admin-token";

    /// <summary>The scheduler's join token, which an agent presents once to register its host.</summary>
    public const string JoinToken = "join-token";

    /// <summary>
    /// The secret of the registry robot the scheduler hands pull credentials of to tasks; <c>berth up</c> writes it
    /// into the scheduler's data directory and passes it as <c>Scheduler:Registry:PasswordFile</c>.
    /// </summary>
    public const string RegistryPullSecret = "registry-pull-secret";
}
