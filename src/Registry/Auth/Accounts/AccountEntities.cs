using Berth.Registry.Auth.Scopes;

namespace Berth.Registry.Auth.Accounts;

/// <summary>A person who logs in with a password.</summary>
internal sealed class UserAccount
{
    public long Id { get; set; }

    public required string Name { get; set; }

    /// <summary>ASP.NET Core Identity's PBKDF2 format (salted, versioned, slow).</summary>
    public required string PasswordHash { get; set; }

    /// <summary>Admins may do everything, including managing accounts.</summary>
    public bool IsAdmin { get; set; }

    public bool Disabled { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset? LastUsedAt { get; set; }
}

/// <summary>A machine identity (CI, an agent): a long random secret, an optional expiry, its own permissions.</summary>
internal sealed class RobotAccount
{
    /// <summary>The robot's login name always starts with this, so it can never collide with a user.</summary>
    public const string NamePrefix = "robot$";

    public long Id { get; set; }

    /// <summary>The full login name, <c>robot$NAME</c>.</summary>
    public required string Name { get; set; }

    public string? Description { get; set; }

    /// <summary>SHA-256 of the secret: the secret is 256 random bits, so a fast hash is as safe as a slow one.</summary>
    public required byte[] SecretHash { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset? ExpiresAt { get; set; }

    public DateTimeOffset? LastUsedAt { get; set; }

    public bool Disabled { get; set; }
}

/// <summary>Which principal may do what in which repositories.</summary>
internal sealed class PermissionGrant
{
    public long Id { get; set; }

    /// <summary>A user name or a robot's full name (<c>robot$...</c>).</summary>
    public required string Principal { get; set; }

    /// <summary><c>*</c> (everything), <c>team-a/*</c> (a namespace and all below it) or one repository name.</summary>
    public required string Pattern { get; set; }

    public RegistryActions Actions { get; set; }
}

/// <summary>A namespace anyone may pull from without logging in.</summary>
internal sealed class PublicNamespace
{
    /// <summary>Same pattern grammar as <see cref="PermissionGrant.Pattern"/>.</summary>
    public required string Pattern { get; set; }
}

/// <summary>A refresh token (docker's identity token), stored only as its SHA-256.</summary>
internal sealed class RefreshTokenRecord
{
    public required byte[] TokenHash { get; set; }

    public required string Principal { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset ExpiresAt { get; set; }
}
