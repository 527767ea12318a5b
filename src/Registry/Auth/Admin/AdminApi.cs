using Berth.Registry.Auth.Accounts;
using Berth.Registry.Errors;
using Berth.Registry.Notifications;
using Berth.Registry.Auth.Credentials;
using Berth.Registry.Auth.Scopes;
using Berth.Registry.Auth.Throttling;
using Berth.Registry.Auth.Tokens;
using Berth.RegistryAdmin;

namespace Berth.Registry.Auth.Admin;

/// <summary>
/// The JSON admin API under <c>/api/v1/</c>: users, robot accounts, permissions, public namespaces, and the
/// ECR-style login password. Callers authenticate with Basic credentials or a bearer token; everything but the
/// login password needs an admin.
/// </summary>
internal static class AdminApi
{
    public static IEndpointRouteBuilder MapAdminApi(this IEndpointRouteBuilder endpoints)
    {
        var api = endpoints.MapGroup(AdminApiPaths.Prefix).AddEndpointFilter(AuthenticateFilter).DisableAntiforgery();
        api.MapPost("/login-password", IssueLoginPassword);

        var admin = api.MapGroup("").AddEndpointFilter(RequireAdminFilter);
        admin.MapGet("/users", async (AccountStore accounts, CancellationToken ct) =>
            (await accounts.ListUsersAsync(ct)).Select(u => new User(u.Name, u.IsAdmin, u.Disabled, u.CreatedAt, u.LastUsedAt)).ToList());
        admin.MapPost("/users", CreateUser);
        admin.MapPut("/users/{name}/password", SetPassword);
        admin.MapDelete("/users/{name}", DeletePrincipal);
        admin.MapGet("/robots", async (AccountStore accounts, CancellationToken ct) =>
            (await accounts.ListRobotsAsync(ct)).Select(r => new Robot(r.Name, r.Description, r.CreatedAt, r.ExpiresAt, r.LastUsedAt, r.Disabled)).ToList());
        admin.MapPost("/robots", CreateRobot);
        admin.MapPost("/robots/{name}/secret", RotateRobotSecret);
        admin.MapDelete("/robots/{name}", DeletePrincipal);
        admin.MapGet("/permissions", async (string? principal, AccountStore accounts, CancellationToken ct) =>
            (await accounts.ListPermissionsAsync(principal, ct)).Select(p => new PrincipalGrant(p.Principal, p.Pattern, ActionNames(p.Actions))).ToList());
        admin.MapPut("/permissions", PutPermission);
        admin.MapGet("/public-namespaces", async (AccountStore accounts, CancellationToken ct) => await accounts.ListPublicNamespacesAsync(ct));
        admin.MapPut("/public-namespaces", (PublicNamespaceRequest request, AccountStore accounts, PublicNamespaceCache cache, HttpContext context) =>
            SetPublic(request.Pattern, true, accounts, cache, context));
        admin.MapDelete("/public-namespaces", (string pattern, AccountStore accounts, PublicNamespaceCache cache, HttpContext context) =>
            SetPublic(pattern, false, accounts, cache, context));
        admin.MapRegistryOperations();
        admin.MapNotificationsAdmin();
        return endpoints;
    }

    private static async ValueTask<object?> AuthenticateFilter(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        var context = invocation.HttpContext;
        var services = context.RequestServices;
        var throttle = services.GetRequiredService<LoginThrottle>();
        if (await AuthErrors.RefuseIfThrottledAsync(context, throttle))
        {
            return Results.Empty;
        }

        Principal? principal = null;
        if (CredentialVerifier.ReadBasic(context.Request.Headers.Authorization) is { } basic)
        {
            principal = await services.GetRequiredService<CredentialVerifier>().VerifyAsync(basic.Username, basic.Password, context.RequestAborted);
            if (principal is null)
            {
                throttle.RecordFailure(context.Connection.RemoteIpAddress);
            }
        }
        else if (await RegistryAuthorizer.AuthenticateAsync(context) is { Subject.Length: > 0 } token)
        {
            principal = await services.GetRequiredService<AccountStore>().FindPrincipalAsync(token.Subject, context.RequestAborted);
        }

        if (principal is null)
        {
            context.Response.Headers.WWWAuthenticate = "Basic realm=\"berth-registry\"";
            return Error(StatusCodes.Status401Unauthorized, ErrorCodes.Unauthorized, "authentication required");
        }

        context.Items[typeof(Principal)] = principal;
        return await next(invocation);
    }

    private static async ValueTask<object?> RequireAdminFilter(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next) =>
        CurrentPrincipal(invocation.HttpContext).IsAdmin
            ? await next(invocation)
            : Error(StatusCodes.Status403Forbidden, ErrorCodes.Denied, "this needs an administrator");

    private static Principal CurrentPrincipal(HttpContext context) => (Principal)context.Items[typeof(Principal)]!;

    private static LoginPassword IssueLoginPassword(HttpContext context, TokenIssuer issuer)
    {
        var principal = CurrentPrincipal(context);
        var (password, expiresAt) = issuer.IssueLoginPassword(principal.Name);
        return new LoginPassword(principal.Name, password, expiresAt);
    }

    private static async Task<IResult> CreateUser(CreateUserRequest request, AccountStore accounts, CancellationToken ct)
    {
        if (!IsValidUserName(request.Name))
        {
            return Error(StatusCodes.Status400BadRequest, ErrorCodes.NameInvalid, "user names are 1-64 characters of a-z, 0-9, '.', '_' and '-', starting with a letter or digit");
        }

        if (request.Password is null || request.Password.Length < AccountStore.MinPasswordLength)
        {
            return Error(StatusCodes.Status400BadRequest, ErrorCodes.Unsupported, $"passwords need at least {AccountStore.MinPasswordLength} characters");
        }

        if (await accounts.FindUserAsync(request.Name, ct) is not null)
        {
            return Error(StatusCodes.Status409Conflict, ErrorCodes.Denied, $"user '{request.Name}' already exists");
        }

        var user = await accounts.CreateUserAsync(request.Name, request.Password, request.Admin, ct);
        return Results.Created(AdminApiPaths.User(user.Name), new User(user.Name, user.IsAdmin, user.Disabled, user.CreatedAt, user.LastUsedAt));
    }

    private static async Task<IResult> SetPassword(string name, SetPasswordRequest request, AccountStore accounts, CancellationToken ct)
    {
        var user = await accounts.FindUserAsync(name, ct);
        if (user is null)
        {
            return Error(StatusCodes.Status404NotFound, ErrorCodes.NameUnknown, $"no user '{name}'");
        }

        if (request.Password is null || request.Password.Length < AccountStore.MinPasswordLength)
        {
            return Error(StatusCodes.Status400BadRequest, ErrorCodes.Unsupported, $"passwords need at least {AccountStore.MinPasswordLength} characters");
        }

        await accounts.SetPasswordAsync(user, request.Password, ct);
        return Results.NoContent();
    }

    private static async Task<IResult> DeletePrincipal(string name, HttpContext context, AccountStore accounts, CancellationToken ct)
    {
        // Robots are addressed by their short name under /robots and by their full name anywhere else.
        var fullName = context.Request.Path.StartsWithSegments(AdminApiPaths.Robots) && !name.StartsWith(RobotAccount.NamePrefix, StringComparison.Ordinal)
            ? RobotAccount.NamePrefix + name
            : name;
        if (fullName == CurrentPrincipal(context).Name)
        {
            return Error(StatusCodes.Status400BadRequest, ErrorCodes.Denied, "you cannot delete yourself");
        }

        return await accounts.DeletePrincipalAsync(fullName, ct)
            ? Results.NoContent()
            : Error(StatusCodes.Status404NotFound, ErrorCodes.NameUnknown, $"no account '{name}'");
    }

    private static async Task<IResult> CreateRobot(CreateRobotRequest request, AccountStore accounts, TimeProvider time, CancellationToken ct)
    {
        if (!IsValidUserName(request.Name))
        {
            return Error(StatusCodes.Status400BadRequest, ErrorCodes.NameInvalid, "robot names are 1-64 characters of a-z, 0-9, '.', '_' and '-', starting with a letter or digit");
        }

        if (request.ExpiresAt is { } expires && expires <= time.GetUtcNow())
        {
            return Error(StatusCodes.Status400BadRequest, ErrorCodes.Unsupported, "expiresAt is in the past");
        }

        var permissions = new List<(string Pattern, RegistryActions Actions)>();
        foreach (var permission in request.Permissions ?? [])
        {
            if (!TryParsePermission(permission.Pattern, permission.Actions, out var actions, out var problem))
            {
                return Error(StatusCodes.Status400BadRequest, ErrorCodes.Unsupported, problem);
            }

            permissions.Add((permission.Pattern, actions));
        }

        if (await accounts.FindRobotAsync(RobotAccount.NamePrefix + request.Name, ct) is not null)
        {
            return Error(StatusCodes.Status409Conflict, ErrorCodes.Denied, $"robot '{request.Name}' already exists");
        }

        var (robot, secret) = await accounts.CreateRobotAsync(request.Name, request.Description, request.ExpiresAt, ct);
        foreach (var (pattern, actions) in permissions)
        {
            await accounts.PutPermissionAsync(robot.Name, pattern, actions, ct);
        }

        return Results.Created(AdminApiPaths.Robot(request.Name), new RobotSecret(robot.Name, secret, robot.ExpiresAt));
    }

    private static async Task<IResult> RotateRobotSecret(string name, AccountStore accounts, CancellationToken ct)
    {
        var robot = await accounts.FindRobotAsync(name.StartsWith(RobotAccount.NamePrefix, StringComparison.Ordinal) ? name : RobotAccount.NamePrefix + name, ct);
        if (robot is null)
        {
            return Error(StatusCodes.Status404NotFound, ErrorCodes.NameUnknown, $"no robot '{name}'");
        }

        var secret = await accounts.RotateRobotSecretAsync(robot, ct);
        return Results.Ok(new RobotSecret(robot.Name, secret, robot.ExpiresAt));
    }

    private static async Task<IResult> PutPermission(PrincipalGrant request, AccountStore accounts, CancellationToken ct)
    {
        if (await accounts.FindPrincipalAsync(request.Principal ?? string.Empty, ct) is null)
        {
            return Error(StatusCodes.Status404NotFound, ErrorCodes.NameUnknown, $"no active account '{request.Principal}'");
        }

        if (!TryParsePermission(request.Pattern, request.Actions, out var actions, out var problem))
        {
            return Error(StatusCodes.Status400BadRequest, ErrorCodes.Unsupported, problem);
        }

        await accounts.PutPermissionAsync(request.Principal!, request.Pattern!, actions, ct);
        return Results.NoContent();
    }

    private static async Task<IResult> SetPublic(string? pattern, bool isPublic, AccountStore accounts, PublicNamespaceCache cache, HttpContext context)
    {
        if (pattern is null || !NamespacePattern.IsValid(pattern))
        {
            return Error(StatusCodes.Status400BadRequest, ErrorCodes.NameInvalid, "pattern must be '*', 'namespace/*' or a repository name");
        }

        await accounts.SetPublicAsync(pattern, isPublic, context.RequestAborted);
        cache.Replace(await accounts.ListPublicNamespacesAsync(context.RequestAborted));
        return Results.NoContent();
    }

    private static bool TryParsePermission([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] string? pattern, IReadOnlyList<string>? names, out RegistryActions actions, out string problem)
    {
        actions = RegistryActions.None;
        problem = string.Empty;
        if (pattern is null || !NamespacePattern.IsValid(pattern))
        {
            problem = $"pattern '{pattern}' must be '*', 'namespace/*' or a repository name";
            return false;
        }

        foreach (var name in names ?? [])
        {
            var action = name switch
            {
                "pull" => RegistryActions.Pull,
                "push" => RegistryActions.Push,
                "delete" => RegistryActions.Delete,
                "admin" => RegistryActions.Admin,
                _ => RegistryActions.None,
            };
            if (action == RegistryActions.None)
            {
                problem = $"unknown action '{name}'; use pull, push, delete or admin";
                return false;
            }

            actions |= action;
        }

        return true;
    }

    private static List<string> ActionNames(RegistryActions actions)
    {
        var names = RegistryActionNames.ToNames(actions);
        if ((actions & RegistryActions.Admin) != 0)
        {
            names.Add("admin");
        }

        return names;
    }

    private static bool IsValidUserName([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] string? name) =>
        name is { Length: > 0 and <= 64 }
        && char.IsAsciiLetterOrDigit(name[0])
        && name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '.' or '_' or '-');

    private static IResult Error(int status, string code, string message) =>
        Results.Json(new RegistryErrorResponse([new RegistryErrorBody(code, message)]), RegistryAdminJsonContext.Default.RegistryErrorResponse, statusCode: status);
}
