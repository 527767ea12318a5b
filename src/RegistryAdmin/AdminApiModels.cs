using System.Text.Json.Serialization;

namespace Berth.RegistryAdmin;

/// <summary>Paths of the admin API, relative to the registry's base address.</summary>
public static class AdminApiPaths
{
    /// <summary>Every admin path starts here.</summary>
    public const string Prefix = "/api/v1";

    /// <summary><c>GET</c> lists, <c>POST</c> creates.</summary>
    public const string Users = Prefix + "/users";

    /// <summary><c>GET</c> lists, <c>POST</c> creates (the secret is in the answer, once).</summary>
    public const string Robots = Prefix + "/robots";

    /// <summary><c>GET ?principal=</c> lists, <c>PUT</c> grants (an empty action list removes the grant).</summary>
    public const string Permissions = Prefix + "/permissions";

    /// <summary><c>GET</c> lists, <c>PUT</c> adds, <c>DELETE ?pattern=</c> removes.</summary>
    public const string PublicNamespaces = Prefix + "/public-namespaces";

    /// <summary><c>POST</c>: an ECR-style login password for the caller (any authenticated account).</summary>
    public const string LoginPassword = Prefix + "/login-password";

    /// <summary>One user; <c>DELETE</c> removes it.</summary>
    public static string User(string name) => $"{Users}/{Uri.EscapeDataString(name)}";

    /// <summary>A user's password; <c>PUT</c> sets it.</summary>
    public static string UserPassword(string name) => $"{User(name)}/password";

    /// <summary>One robot by its short name; <c>DELETE</c> removes it.</summary>
    public static string Robot(string name) => $"{Robots}/{Uri.EscapeDataString(name)}";

    /// <summary>A robot's secret; <c>POST</c> rotates it.</summary>
    public static string RobotSecret(string name) => $"{Robot(name)}/secret";
}

/// <summary>A registry account with a password (a person).</summary>
/// <param name="Name">1-64 characters of a-z, 0-9, '.', '_' and '-'.</param>
/// <param name="Admin">Whether it may do everything.</param>
/// <param name="Disabled">A disabled account cannot log in.</param>
/// <param name="CreatedAt">When it was created.</param>
/// <param name="LastUsedAt">When it last logged in; null when never.</param>
public sealed record User(string Name, bool Admin, bool Disabled, DateTimeOffset CreatedAt, DateTimeOffset? LastUsedAt);

/// <summary>The body of <c>POST /users</c>.</summary>
/// <param name="Name">The new user's name.</param>
/// <param name="Password">At least 12 characters.</param>
/// <param name="Admin">Whether it may do everything.</param>
public sealed record CreateUserRequest(string? Name, string? Password, bool Admin = false);

/// <summary>The body of <c>PUT /users/{name}/password</c>.</summary>
/// <param name="Password">At least 12 characters.</param>
public sealed record SetPasswordRequest(string? Password);

/// <summary>A robot account (<c>robot$NAME</c>): a non-human credential for CI and hosts.</summary>
/// <param name="Name">The full name, <c>robot$NAME</c>.</param>
/// <param name="Description">What it is for.</param>
/// <param name="CreatedAt">When it was created.</param>
/// <param name="ExpiresAt">When its secret stops working; null for never.</param>
/// <param name="LastUsedAt">When it last logged in; null when never.</param>
/// <param name="Disabled">A disabled robot cannot log in.</param>
public sealed record Robot(string Name, string? Description, DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt, DateTimeOffset? LastUsedAt, bool Disabled);

/// <summary>The body of <c>POST /robots</c>.</summary>
/// <param name="Name">The short name (the account is <c>robot$NAME</c>).</param>
/// <param name="Description">What it is for.</param>
/// <param name="ExpiresAt">When its secret stops working; null for never.</param>
/// <param name="Permissions">Grants made with it.</param>
public sealed record CreateRobotRequest(string? Name, string? Description, DateTimeOffset? ExpiresAt, IReadOnlyList<PermissionGrant>? Permissions);

/// <summary>A robot's secret, in the answer to <c>POST /robots</c> and <c>POST /robots/{name}/secret</c> only.</summary>
/// <param name="Name">The full name, <c>robot$NAME</c>.</param>
/// <param name="Secret">The secret: shown once, stored only as a hash.</param>
/// <param name="ExpiresAt">When it stops working; null for never.</param>
public sealed record RobotSecret(string Name, string Secret, DateTimeOffset? ExpiresAt)
{
    /// <inheritdoc />
    public override string ToString() => $"RobotSecret {{ Name = {Name}, ExpiresAt = {ExpiresAt:O} }}";
}

/// <summary>Actions on a repository pattern, as a robot is created with.</summary>
/// <param name="Pattern"><c>*</c>, <c>namespace/*</c> or a repository name.</param>
/// <param name="Actions"><c>pull</c>, <c>push</c>, <c>delete</c>, <c>admin</c>.</param>
public sealed record PermissionGrant(string? Pattern, IReadOnlyList<string>? Actions);

/// <summary>A principal's actions on a repository pattern: an item of <c>GET /permissions</c> and the body of <c>PUT /permissions</c>.</summary>
/// <param name="Principal">A user name or <c>robot$NAME</c>.</param>
/// <param name="Pattern"><c>*</c>, <c>namespace/*</c> or a repository name.</param>
/// <param name="Actions"><c>pull</c>, <c>push</c>, <c>delete</c>, <c>admin</c>; empty removes the grant.</param>
public sealed record PrincipalGrant(string? Principal, string? Pattern, IReadOnlyList<string>? Actions);

/// <summary>The body of <c>PUT /public-namespaces</c>.</summary>
/// <param name="Pattern"><c>*</c>, <c>namespace/*</c> or a repository name.</param>
public sealed record PublicNamespaceRequest(string? Pattern);

/// <summary>An ECR-style login password (what <c>aws ecr get-login-password</c> is to ECR).</summary>
/// <param name="Username">The account it logs in as (or use <c>AWS</c>).</param>
/// <param name="Password">A registry-signed token, useless as a bearer token.</param>
/// <param name="ExpiresAt">When it stops working.</param>
public sealed record LoginPassword(string Username, string Password, DateTimeOffset ExpiresAt)
{
    // Never print the password (records print every member by default).
    /// <inheritdoc />
    public override string ToString() => $"LoginPassword {{ Username = {Username}, ExpiresAt = {ExpiresAt:O} }}";
}

/// <summary>The distribution spec's error body, which the admin API answers with too: <c>{"errors":[...]}</c>.</summary>
/// <param name="Errors">One or more errors.</param>
public sealed record RegistryErrorResponse(IReadOnlyList<RegistryErrorBody> Errors);

/// <summary>One error of a <see cref="RegistryErrorResponse"/>.</summary>
/// <param name="Code">The spec's code, e.g. <c>DENIED</c>, <c>NAME_UNKNOWN</c>.</param>
/// <param name="Message">A sentence for people.</param>
/// <param name="Detail">Anything more, when there is.</param>
public sealed record RegistryErrorBody(string Code, string Message, [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Detail = null);
