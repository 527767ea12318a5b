using Berth.Registry.Auth.Credentials;
using Berth.Registry.Auth.Scopes;
using Berth.Registry.Storage.Sqlite;
using Microsoft.AspNetCore.Identity;
using Microsoft.Data.Sqlite;

namespace Berth.Registry.Auth.Accounts;

/// <summary>
/// Reads and changes accounts, permissions and refresh tokens in <c>auth.db</c>. Every call is one statement (or one
/// transaction) on a pooled connection; the objects it returns are plain snapshots, changed through its methods.
/// </summary>
internal sealed class AccountStore(AuthDatabase database, IPasswordHasher<UserAccount> passwordHasher, TimeProvider time)
{
    public const int MinPasswordLength = 12;

    private const string UserColumns = """ "Id", "Name", "PasswordHash", "IsAdmin", "Disabled", "CreatedAt", "LastUsedAt" """;
    private const string RobotColumns = """ "Id", "Name", "Description", "SecretHash", "CreatedAt", "ExpiresAt", "LastUsedAt", "Disabled" """;

    public async Task<UserAccount?> FindUserAsync(string name, CancellationToken cancellationToken) =>
        (await QueryAsync($"""SELECT {UserColumns} FROM "Users" WHERE "Name" = $name;""", ReadUser, cancellationToken, ("$name", name))).FirstOrDefault();

    public async Task<RobotAccount?> FindRobotAsync(string name, CancellationToken cancellationToken) =>
        (await QueryAsync($"""SELECT {RobotColumns} FROM "Robots" WHERE "Name" = $name;""", ReadRobot, cancellationToken, ("$name", name))).FirstOrDefault();

    public async Task<Principal?> FindPrincipalAsync(string name, CancellationToken cancellationToken)
    {
        if (name.StartsWith(RobotAccount.NamePrefix, StringComparison.Ordinal))
        {
            var robot = await FindRobotAsync(name, cancellationToken);
            return robot is null || robot.Disabled || IsExpired(robot) ? null : new Principal(robot.Name, PrincipalKind.Robot, IsAdmin: false);
        }

        var user = await FindUserAsync(name, cancellationToken);
        return user is null || user.Disabled ? null : new Principal(user.Name, PrincipalKind.User, user.IsAdmin);
    }

    public bool IsExpired(RobotAccount robot) => robot.ExpiresAt is { } expires && expires <= time.GetUtcNow();

    /// <summary>Everything the principal (or an anonymous caller, when null) may do, for many checks at once.</summary>
    public async Task<AccessRules> LoadAccessRulesAsync(Principal? principal, CancellationToken cancellationToken)
    {
        var publicPatterns = await ListPublicNamespacesAsync(cancellationToken);
        if (principal is null)
        {
            return new AccessRules(null, [], publicPatterns);
        }

        var grants = await QueryAsync(
            """SELECT "Pattern", "Actions" FROM "Permissions" WHERE "Principal" = $principal;""",
            r => (r.GetString(0), (RegistryActions)r.GetInt32(1)),
            cancellationToken,
            ("$principal", principal.Name));
        return new AccessRules(principal, grants, publicPatterns);
    }

    public async Task<UserAccount> CreateUserAsync(string name, string password, bool isAdmin, CancellationToken cancellationToken)
    {
        var user = new UserAccount { Name = name, PasswordHash = string.Empty, IsAdmin = isAdmin, CreatedAt = time.GetUtcNow() };
        user.PasswordHash = passwordHasher.HashPassword(user, password);
        user.Id = (long)(await ScalarAsync(
            """
            INSERT INTO "Users" ("Name", "PasswordHash", "IsAdmin", "Disabled", "CreatedAt") VALUES ($name, $hash, $admin, 0, $created)
            RETURNING "Id";
            """,
            cancellationToken,
            ("$name", name), ("$hash", user.PasswordHash), ("$admin", isAdmin), ("$created", AuthDatabase.ToStored(user.CreatedAt))))!;
        return user;
    }

    public async Task SetPasswordAsync(UserAccount user, string password, CancellationToken cancellationToken)
    {
        user.PasswordHash = passwordHasher.HashPassword(user, password);
        await ExecuteAsync("""UPDATE "Users" SET "PasswordHash" = $hash WHERE "Id" = $id;""", cancellationToken, ("$hash", user.PasswordHash), ("$id", user.Id));
        // A new password ends every login made with the old one.
        await RevokeRefreshTokensAsync(user.Name, cancellationToken);
    }

    public PasswordVerificationResult VerifyPassword(UserAccount user, string password) =>
        passwordHasher.VerifyHashedPassword(user, user.PasswordHash, password);

    public async Task<(RobotAccount Robot, string Secret)> CreateRobotAsync(string name, string? description, DateTimeOffset? expiresAt, CancellationToken cancellationToken)
    {
        var secret = SecretHasher.NewSecret();
        var robot = new RobotAccount
        {
            Name = RobotAccount.NamePrefix + name,
            Description = description,
            SecretHash = SecretHasher.Hash(secret),
            CreatedAt = time.GetUtcNow(),
            ExpiresAt = expiresAt,
        };
        robot.Id = (long)(await ScalarAsync(
            """
            INSERT INTO "Robots" ("Name", "Description", "SecretHash", "CreatedAt", "ExpiresAt", "Disabled")
            VALUES ($name, $description, $hash, $created, $expires, 0) RETURNING "Id";
            """,
            cancellationToken,
            ("$name", robot.Name), ("$description", description), ("$hash", robot.SecretHash),
            ("$created", AuthDatabase.ToStored(robot.CreatedAt)), ("$expires", Stored(expiresAt))))!;
        return (robot, secret);
    }

    public async Task<string> RotateRobotSecretAsync(RobotAccount robot, CancellationToken cancellationToken)
    {
        var secret = SecretHasher.NewSecret();
        robot.SecretHash = SecretHasher.Hash(secret);
        await ExecuteAsync("""UPDATE "Robots" SET "SecretHash" = $hash WHERE "Id" = $id;""", cancellationToken, ("$hash", robot.SecretHash), ("$id", robot.Id));
        await RevokeRefreshTokensAsync(robot.Name, cancellationToken);
        return secret;
    }

    public async Task MarkUsedAsync(UserAccount? user, RobotAccount? robot, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        // Only write when the stored time is a minute old: a busy CI robot must not turn every login into a write.
        if (user is not null && (user.LastUsedAt is null || now - user.LastUsedAt > TimeSpan.FromMinutes(1)))
        {
            user.LastUsedAt = now;
            await ExecuteAsync("""UPDATE "Users" SET "LastUsedAt" = $now WHERE "Id" = $id;""", cancellationToken, ("$now", AuthDatabase.ToStored(now)), ("$id", user.Id));
        }

        if (robot is not null && (robot.LastUsedAt is null || now - robot.LastUsedAt > TimeSpan.FromMinutes(1)))
        {
            robot.LastUsedAt = now;
            await ExecuteAsync("""UPDATE "Robots" SET "LastUsedAt" = $now WHERE "Id" = $id;""", cancellationToken, ("$now", AuthDatabase.ToStored(now)), ("$id", robot.Id));
        }
    }

    /// <summary>Deletes a user or robot with its permissions and refresh tokens, in one transaction.</summary>
    public async Task<bool> DeletePrincipalAsync(string name, CancellationToken cancellationToken)
    {
        var table = name.StartsWith(RobotAccount.NamePrefix, StringComparison.Ordinal) ? "Robots" : "Users";
        await using var connection = await database.OpenAsync(cancellationToken);
        using var transaction = connection.BeginTransaction();
        using var command = connection.Command($"""DELETE FROM "{table}" WHERE "Name" = $name;""");
        command.Transaction = transaction;
        command.Parameters.AddWithValue("$name", name);
        var deleted = await command.ExecuteNonQueryAsync(cancellationToken);
        if (deleted > 0)
        {
            command.CommandText = """
                DELETE FROM "Permissions" WHERE "Principal" = $name;
                DELETE FROM "RefreshTokens" WHERE "Principal" = $name;
                """;
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        transaction.Commit();
        return deleted > 0;
    }

    public Task<List<UserAccount>> ListUsersAsync(CancellationToken cancellationToken) =>
        QueryAsync($"""SELECT {UserColumns} FROM "Users" ORDER BY "Name";""", ReadUser, cancellationToken);

    public Task<List<RobotAccount>> ListRobotsAsync(CancellationToken cancellationToken) =>
        QueryAsync($"""SELECT {RobotColumns} FROM "Robots" ORDER BY "Name";""", ReadRobot, cancellationToken);

    public Task<List<PermissionGrant>> ListPermissionsAsync(string? principal, CancellationToken cancellationToken) =>
        QueryAsync(
            """
            SELECT "Id", "Principal", "Pattern", "Actions" FROM "Permissions"
            WHERE $principal IS NULL OR "Principal" = $principal ORDER BY "Principal", "Pattern";
            """,
            r => new PermissionGrant { Id = r.GetInt64(0), Principal = r.GetString(1), Pattern = r.GetString(2), Actions = (RegistryActions)r.GetInt32(3) },
            cancellationToken,
            ("$principal", principal));

    /// <summary>Sets the actions of a principal on a pattern; <see cref="RegistryActions.None"/> removes the grant.</summary>
    public Task PutPermissionAsync(string principal, string pattern, RegistryActions actions, CancellationToken cancellationToken) =>
        actions == RegistryActions.None
            ? ExecuteAsync("""DELETE FROM "Permissions" WHERE "Principal" = $principal AND "Pattern" = $pattern;""", cancellationToken, ("$principal", principal), ("$pattern", pattern))
            : ExecuteAsync(
                """
                INSERT INTO "Permissions" ("Principal", "Pattern", "Actions") VALUES ($principal, $pattern, $actions)
                ON CONFLICT ("Principal", "Pattern") DO UPDATE SET "Actions" = excluded."Actions";
                """,
                cancellationToken,
                ("$principal", principal), ("$pattern", pattern), ("$actions", (int)actions));

    public Task<List<string>> ListPublicNamespacesAsync(CancellationToken cancellationToken) =>
        QueryAsync("""SELECT "Pattern" FROM "PublicNamespaces" ORDER BY "Pattern";""", r => r.GetString(0), cancellationToken);

    public Task SetPublicAsync(string pattern, bool isPublic, CancellationToken cancellationToken) =>
        isPublic
            ? ExecuteAsync("""INSERT INTO "PublicNamespaces" ("Pattern") VALUES ($pattern) ON CONFLICT DO NOTHING;""", cancellationToken, ("$pattern", pattern))
            : ExecuteAsync("""DELETE FROM "PublicNamespaces" WHERE "Pattern" = $pattern;""", cancellationToken, ("$pattern", pattern));

    public async Task<string> IssueRefreshTokenAsync(string principal, TimeSpan lifetime, CancellationToken cancellationToken)
    {
        var token = SecretHasher.NewSecret();
        var now = time.GetUtcNow();
        await ExecuteAsync(
            """INSERT INTO "RefreshTokens" ("TokenHash", "Principal", "CreatedAt", "ExpiresAt") VALUES ($hash, $principal, $created, $expires);""",
            cancellationToken,
            ("$hash", SecretHasher.Hash(token)), ("$principal", principal), ("$created", AuthDatabase.ToStored(now)), ("$expires", AuthDatabase.ToStored(now + lifetime)));
        return token;
    }

    /// <summary>The principal name a live refresh token stands for, or null. Looked up by hash: constant work per token.</summary>
    public async Task<string?> RedeemRefreshTokenAsync(string token, CancellationToken cancellationToken)
    {
        var record = (await QueryAsync(
            """SELECT "Principal", "ExpiresAt" FROM "RefreshTokens" WHERE "TokenHash" = $hash;""",
            r => (Principal: r.GetString(0), ExpiresAt: AuthDatabase.FromStored(r.GetInt64(1))),
            cancellationToken,
            ("$hash", SecretHasher.Hash(token)))).FirstOrDefault();
        return record.Principal is null || record.ExpiresAt <= time.GetUtcNow() ? null : record.Principal;
    }

    public Task RevokeRefreshTokensAsync(string principal, CancellationToken cancellationToken) =>
        ExecuteAsync("""DELETE FROM "RefreshTokens" WHERE "Principal" = $principal;""", cancellationToken, ("$principal", principal));

    public async Task<bool> AnyUserAsync(CancellationToken cancellationToken) =>
        await ScalarAsync("""SELECT EXISTS (SELECT 1 FROM "Users");""", cancellationToken) is 1L;

    private static UserAccount ReadUser(SqliteDataReader r) => new()
    {
        Id = r.GetInt64(0),
        Name = r.GetString(1),
        PasswordHash = r.GetString(2),
        IsAdmin = r.GetBoolean(3),
        Disabled = r.GetBoolean(4),
        CreatedAt = AuthDatabase.FromStored(r.GetInt64(5)),
        LastUsedAt = r.IsDBNull(6) ? null : AuthDatabase.FromStored(r.GetInt64(6)),
    };

    private static RobotAccount ReadRobot(SqliteDataReader r) => new()
    {
        Id = r.GetInt64(0),
        Name = r.GetString(1),
        Description = r.IsDBNull(2) ? null : r.GetString(2),
        SecretHash = (byte[])r.GetValue(3),
        CreatedAt = AuthDatabase.FromStored(r.GetInt64(4)),
        ExpiresAt = r.IsDBNull(5) ? null : AuthDatabase.FromStored(r.GetInt64(5)),
        LastUsedAt = r.IsDBNull(6) ? null : AuthDatabase.FromStored(r.GetInt64(6)),
        Disabled = r.GetBoolean(7),
    };

    private static long? Stored(DateTimeOffset? value) => value is { } v ? AuthDatabase.ToStored(v) : null;

    private async Task<List<T>> QueryAsync<T>(string sql, Func<SqliteDataReader, T> map, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        using var command = Prepare(connection, sql, parameters);
        using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<T>();
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(map(reader));
        }

        return rows;
    }

    private async Task<object?> ScalarAsync(string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        using var command = Prepare(connection, sql, parameters);
        return await command.ExecuteScalarAsync(cancellationToken);
    }

    private async Task ExecuteAsync(string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        using var command = Prepare(connection, sql, parameters);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static SqliteCommand Prepare(SqliteConnection connection, string sql, (string Name, object? Value)[] parameters)
    {
        var command = connection.Command(sql);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        return command;
    }
}
