using Berth.Registry.Auth.Credentials;
using Berth.Registry.Auth.Scopes;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;

namespace Berth.Registry.Auth.Accounts;

/// <summary>Reads and changes accounts, permissions and refresh tokens. Scoped: one context per request.</summary>
internal sealed class AccountStore(AuthDbContext db, IPasswordHasher<UserAccount> passwordHasher, TimeProvider time)
{
    public const int MinPasswordLength = 12;

    public Task<UserAccount?> FindUserAsync(string name, CancellationToken cancellationToken) =>
        db.Users.FirstOrDefaultAsync(u => u.Name == name, cancellationToken);

    public Task<RobotAccount?> FindRobotAsync(string name, CancellationToken cancellationToken) =>
        db.Robots.FirstOrDefaultAsync(r => r.Name == name, cancellationToken);

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
        var publicPatterns = await db.PublicNamespaces.AsNoTracking().Select(p => p.Pattern).ToListAsync(cancellationToken);
        if (principal is null)
        {
            return new AccessRules(null, [], publicPatterns);
        }

        var grants = await db.Permissions.AsNoTracking()
            .Where(p => p.Principal == principal.Name)
            .Select(p => new { p.Pattern, p.Actions })
            .ToListAsync(cancellationToken);
        return new AccessRules(principal, [.. grants.Select(g => (g.Pattern, g.Actions))], publicPatterns);
    }

    public async Task<UserAccount> CreateUserAsync(string name, string password, bool isAdmin, CancellationToken cancellationToken)
    {
        var user = new UserAccount { Name = name, PasswordHash = string.Empty, IsAdmin = isAdmin, CreatedAt = time.GetUtcNow() };
        user.PasswordHash = passwordHasher.HashPassword(user, password);
        db.Users.Add(user);
        await db.SaveChangesAsync(cancellationToken);
        return user;
    }

    public async Task SetPasswordAsync(UserAccount user, string password, CancellationToken cancellationToken)
    {
        user.PasswordHash = passwordHasher.HashPassword(user, password);
        await db.SaveChangesAsync(cancellationToken);
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
        db.Robots.Add(robot);
        await db.SaveChangesAsync(cancellationToken);
        return (robot, secret);
    }

    public async Task<string> RotateRobotSecretAsync(RobotAccount robot, CancellationToken cancellationToken)
    {
        var secret = SecretHasher.NewSecret();
        robot.SecretHash = SecretHasher.Hash(secret);
        await db.SaveChangesAsync(cancellationToken);
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
            await db.SaveChangesAsync(cancellationToken);
        }

        if (robot is not null && (robot.LastUsedAt is null || now - robot.LastUsedAt > TimeSpan.FromMinutes(1)))
        {
            robot.LastUsedAt = now;
            await db.SaveChangesAsync(cancellationToken);
        }
    }

    public async Task<bool> DeletePrincipalAsync(string name, CancellationToken cancellationToken)
    {
        int deleted = name.StartsWith(RobotAccount.NamePrefix, StringComparison.Ordinal)
            ? await db.Robots.Where(r => r.Name == name).ExecuteDeleteAsync(cancellationToken)
            : await db.Users.Where(u => u.Name == name).ExecuteDeleteAsync(cancellationToken);
        if (deleted > 0)
        {
            await db.Permissions.Where(p => p.Principal == name).ExecuteDeleteAsync(cancellationToken);
            await RevokeRefreshTokensAsync(name, cancellationToken);
        }

        return deleted > 0;
    }

    public Task<List<UserAccount>> ListUsersAsync(CancellationToken cancellationToken) =>
        db.Users.AsNoTracking().OrderBy(u => u.Name).ToListAsync(cancellationToken);

    public Task<List<RobotAccount>> ListRobotsAsync(CancellationToken cancellationToken) =>
        db.Robots.AsNoTracking().OrderBy(r => r.Name).ToListAsync(cancellationToken);

    public Task<List<PermissionGrant>> ListPermissionsAsync(string? principal, CancellationToken cancellationToken) =>
        db.Permissions.AsNoTracking()
            .Where(p => principal == null || p.Principal == principal)
            .OrderBy(p => p.Principal).ThenBy(p => p.Pattern)
            .ToListAsync(cancellationToken);

    /// <summary>Sets the actions of a principal on a pattern; <see cref="RegistryActions.None"/> removes the grant.</summary>
    public async Task PutPermissionAsync(string principal, string pattern, RegistryActions actions, CancellationToken cancellationToken)
    {
        var existing = await db.Permissions.FirstOrDefaultAsync(p => p.Principal == principal && p.Pattern == pattern, cancellationToken);
        if (actions == RegistryActions.None)
        {
            if (existing is not null)
            {
                db.Permissions.Remove(existing);
            }
        }
        else if (existing is null)
        {
            db.Permissions.Add(new PermissionGrant { Principal = principal, Pattern = pattern, Actions = actions });
        }
        else
        {
            existing.Actions = actions;
        }

        await db.SaveChangesAsync(cancellationToken);
    }

    public Task<List<string>> ListPublicNamespacesAsync(CancellationToken cancellationToken) =>
        db.PublicNamespaces.AsNoTracking().OrderBy(p => p.Pattern).Select(p => p.Pattern).ToListAsync(cancellationToken);

    public async Task SetPublicAsync(string pattern, bool isPublic, CancellationToken cancellationToken)
    {
        var existing = await db.PublicNamespaces.FindAsync([pattern], cancellationToken);
        if (isPublic && existing is null)
        {
            db.PublicNamespaces.Add(new PublicNamespace { Pattern = pattern });
        }
        else if (!isPublic && existing is not null)
        {
            db.PublicNamespaces.Remove(existing);
        }

        await db.SaveChangesAsync(cancellationToken);
    }

    public async Task<string> IssueRefreshTokenAsync(string principal, TimeSpan lifetime, CancellationToken cancellationToken)
    {
        var token = SecretHasher.NewSecret();
        var now = time.GetUtcNow();
        db.RefreshTokens.Add(new RefreshTokenRecord { TokenHash = SecretHasher.Hash(token), Principal = principal, CreatedAt = now, ExpiresAt = now + lifetime });
        await db.SaveChangesAsync(cancellationToken);
        return token;
    }

    /// <summary>The principal name a live refresh token stands for, or null. Looked up by hash: constant work per token.</summary>
    public async Task<string?> RedeemRefreshTokenAsync(string token, CancellationToken cancellationToken)
    {
        var hash = SecretHasher.Hash(token);
        var record = await db.RefreshTokens.AsNoTracking().FirstOrDefaultAsync(t => t.TokenHash == hash, cancellationToken);
        return record is null || record.ExpiresAt <= time.GetUtcNow() ? null : record.Principal;
    }

    public Task RevokeRefreshTokensAsync(string principal, CancellationToken cancellationToken) =>
        db.RefreshTokens.Where(t => t.Principal == principal).ExecuteDeleteAsync(cancellationToken);

    public Task<bool> AnyUserAsync(CancellationToken cancellationToken) => db.Users.AnyAsync(cancellationToken);
}
