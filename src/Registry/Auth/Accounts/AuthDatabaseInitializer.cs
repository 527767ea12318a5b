using Berth.Core.IO;
using Berth.Registry.Auth.Credentials;
using Berth.Registry.Storage.Sqlite;

namespace Berth.Registry.Auth.Accounts;

/// <summary>
/// Brings the auth database to the current schema before the registry listens, and makes the registry secure by
/// default: on the first start an <c>admin</c> user gets a random password, written once to
/// <see cref="RegistryDataDirectory.InitialAdminPassword"/> (mode 0600).
/// </summary>
internal sealed partial class AuthDatabaseInitializer(
    IServiceScopeFactory scopes,
    AuthDatabase database,
    RegistryDataDirectory layout,
    PublicNamespaceCache publicNamespaces,
    ILogger<AuthDatabaseInitializer> logger) : IHostedService
{
    public const string InitialAdminName = "admin";

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await using (var connection = await database.OpenAsync(cancellationToken))
        {
            // WAL: readers (token requests) never wait for a writer (an admin change).
            await SqliteConnections.UseWriteAheadLogAsync(connection, cancellationToken);
            await SchemaMigrations.ApplyAsync(connection, SchemaMigrations.Auth, cancellationToken);
        }

        await using var scope = scopes.CreateAsyncScope();

        var accounts = scope.ServiceProvider.GetRequiredService<AccountStore>();
        if (!await accounts.AnyUserAsync(cancellationToken))
        {
            var password = SecretHasher.NewSecret();
            var passwordFile = layout.InitialAdminPassword;
            // The file first: if writing it fails, no admin exists whose password nobody knows.
            OwnerOnlyFile.WriteAtomic(passwordFile, password + "\n");
            await accounts.CreateUserAsync(InitialAdminName, password, isAdmin: true, cancellationToken);
            LogInitialAdmin(logger, InitialAdminName, passwordFile);
        }

        publicNamespaces.Replace(await accounts.ListPublicNamespacesAsync(cancellationToken));
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = 3000, Level = LogLevel.Warning, Message = "Created the initial administrator '{User}'; its password is in {PasswordFile}. Log in with: docker login -u admin --password-stdin < that file")]
    private static partial void LogInitialAdmin(ILogger logger, string user, string passwordFile);
}
