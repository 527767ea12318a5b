using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Berth.RegistryAdmin;

/// <summary>A call the registry refused, with its status and the errors of its JSON body.</summary>
public sealed class RegistryApiException : Exception
{
    /// <summary>Creates the exception.</summary>
    public RegistryApiException(HttpStatusCode statusCode, IReadOnlyList<RegistryErrorBody> errors, string fallback)
        : base(Describe(errors, fallback))
    {
        StatusCode = statusCode;
        Errors = errors;
    }

    /// <summary>Creates an exception without detail.</summary>
    public RegistryApiException() : this(HttpStatusCode.InternalServerError, [], "the registry refused")
    {
    }

    /// <summary>Creates an exception with a message.</summary>
    public RegistryApiException(string message) : this(HttpStatusCode.InternalServerError, [], message)
    {
    }

    /// <summary>Creates an exception with a message and an inner exception.</summary>
    public RegistryApiException(string message, Exception innerException) : base(message, innerException) => Errors = [];

    /// <summary>The HTTP status of the answer.</summary>
    public HttpStatusCode StatusCode { get; }

    /// <summary>The errors of the distribution-spec body; empty when the body was not one.</summary>
    public IReadOnlyList<RegistryErrorBody> Errors { get; }

    private static string Describe(IReadOnlyList<RegistryErrorBody> errors, string fallback)
    {
        ArgumentNullException.ThrowIfNull(errors);
        return errors.Count > 0 ? string.Join("; ", errors.Select(e => $"{e.Code}: {e.Message}")) : fallback;
    }
}

/// <summary>
/// The one typed client of the registry admin API (<see cref="AdminApiPaths"/>), with Basic credentials. The
/// <see cref="HttpClient"/>'s <see cref="HttpClient.BaseAddress"/> is the registry's (<c>http://127.0.0.1:5000</c>);
/// the client does not own it. Refusals throw <see cref="RegistryApiException"/>; transport failures stay
/// <see cref="HttpRequestException"/>.
/// </summary>
public sealed partial class RegistryAdminClient(HttpClient http, string? username, string? password)
{
    private static RegistryAdminJsonContext Json => RegistryAdminJsonContext.Default;

    /// <summary>Every user.</summary>
    public Task<List<User>> ListUsersAsync(CancellationToken cancellationToken) =>
        GetAsync(AdminApiPaths.Users, Json.ListUser, cancellationToken);

    /// <summary>Creates a user.</summary>
    public Task<User> CreateUserAsync(CreateUserRequest request, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Post, AdminApiPaths.Users, request, Json.CreateUserRequest, Json.User, cancellationToken);

    /// <summary>Sets a user's password.</summary>
    public Task SetPasswordAsync(string name, SetPasswordRequest request, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Put, AdminApiPaths.UserPassword(name), request, Json.SetPasswordRequest, cancellationToken);

    /// <summary>Deletes a user.</summary>
    public Task DeleteUserAsync(string name, CancellationToken cancellationToken) =>
        SendAsync<object>(HttpMethod.Delete, AdminApiPaths.User(name), null, null, cancellationToken);

    /// <summary>Every robot.</summary>
    public Task<List<Robot>> ListRobotsAsync(CancellationToken cancellationToken) =>
        GetAsync(AdminApiPaths.Robots, Json.ListRobot, cancellationToken);

    /// <summary>Creates a robot; the answer holds its secret, shown only this once.</summary>
    public Task<RobotSecret> CreateRobotAsync(CreateRobotRequest request, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Post, AdminApiPaths.Robots, request, Json.CreateRobotRequest, Json.RobotSecret, cancellationToken);

    /// <summary>Gives a robot a new secret (the old one stops working).</summary>
    public Task<RobotSecret> RotateRobotSecretAsync(string name, CancellationToken cancellationToken) =>
        SendAsync<object, RobotSecret>(HttpMethod.Post, AdminApiPaths.RobotSecret(name), null, null, Json.RobotSecret, cancellationToken);

    /// <summary>Deletes a robot.</summary>
    public Task DeleteRobotAsync(string name, CancellationToken cancellationToken) =>
        SendAsync<object>(HttpMethod.Delete, AdminApiPaths.Robot(name), null, null, cancellationToken);

    /// <summary>The grants, of one principal or of all.</summary>
    public Task<List<PrincipalGrant>> ListPermissionsAsync(string? principal, CancellationToken cancellationToken) =>
        GetAsync(principal is null ? AdminApiPaths.Permissions : $"{AdminApiPaths.Permissions}?principal={Uri.EscapeDataString(principal)}", Json.ListPrincipalGrant, cancellationToken);

    /// <summary>Grants (or with no actions, removes) a principal's actions on a pattern.</summary>
    public Task PutPermissionAsync(PrincipalGrant permission, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Put, AdminApiPaths.Permissions, permission, Json.PrincipalGrant, cancellationToken);

    /// <summary>The patterns anyone may pull.</summary>
    public Task<List<string>> ListPublicNamespacesAsync(CancellationToken cancellationToken) =>
        GetAsync(AdminApiPaths.PublicNamespaces, Json.ListString, cancellationToken);

    /// <summary>Makes a pattern publicly pullable.</summary>
    public Task AddPublicNamespaceAsync(string pattern, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Put, AdminApiPaths.PublicNamespaces, new PublicNamespaceRequest(pattern), Json.PublicNamespaceRequest, cancellationToken);

    /// <summary>Makes a pattern private again.</summary>
    public Task RemovePublicNamespaceAsync(string pattern, CancellationToken cancellationToken) =>
        SendAsync<object>(HttpMethod.Delete, $"{AdminApiPaths.PublicNamespaces}?pattern={Uri.EscapeDataString(pattern)}", null, null, cancellationToken);

    /// <summary>An ECR-style login password for the client's own account.</summary>
    public Task<LoginPassword> GetLoginPasswordAsync(CancellationToken cancellationToken) =>
        SendAsync<object, LoginPassword>(HttpMethod.Post, AdminApiPaths.LoginPassword, null, null, Json.LoginPassword, cancellationToken);

    private async Task<T> GetAsync<T>(string path, JsonTypeInfo<T> response, CancellationToken cancellationToken)
    {
        using var request = Request(HttpMethod.Get, path);
        return await ReadAsync(request, response, cancellationToken);
    }

    private async Task SendAsync<TRequest>(HttpMethod method, string path, TRequest? body, JsonTypeInfo<TRequest>? bodyType, CancellationToken cancellationToken)
    {
        using var request = Request(method, path);
        if (body is not null && bodyType is not null)
        {
            request.Content = JsonContent.Create(body, bodyType);
        }

        using var answer = await http.SendAsync(request, cancellationToken);
        await ThrowIfRefusedAsync(answer, cancellationToken);
    }

    private async Task<TResponse> SendAsync<TRequest, TResponse>(HttpMethod method, string path, TRequest? body, JsonTypeInfo<TRequest>? bodyType, JsonTypeInfo<TResponse> response, CancellationToken cancellationToken)
    {
        using var request = Request(method, path);
        if (body is not null && bodyType is not null)
        {
            request.Content = JsonContent.Create(body, bodyType);
        }

        return await ReadAsync(request, response, cancellationToken);
    }

    private async Task<T> ReadAsync<T>(HttpRequestMessage request, JsonTypeInfo<T> response, CancellationToken cancellationToken)
    {
        using var answer = await http.SendAsync(request, cancellationToken);
        await ThrowIfRefusedAsync(answer, cancellationToken);
        try
        {
            return await answer.Content.ReadFromJsonAsync(response, cancellationToken)
                ?? throw new RegistryApiException(answer.StatusCode, [], $"the registry answered {request.RequestUri} with an empty body");
        }
        catch (JsonException e)
        {
            throw new RegistryApiException($"the registry's answer to {request.RequestUri} is not the admin API's JSON: {e.Message}", e);
        }
    }

    private HttpRequestMessage Request(HttpMethod method, string path)
    {
        var request = new HttpRequestMessage(method, path);
        if (username is not null && password is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{username}:{password}")));
        }

        return request;
    }

    private static async Task ThrowIfRefusedAsync(HttpResponseMessage answer, CancellationToken cancellationToken)
    {
        if (answer.IsSuccessStatusCode)
        {
            return;
        }

        var text = await answer.Content.ReadAsStringAsync(cancellationToken);
        IReadOnlyList<RegistryErrorBody> errors = [];
        try
        {
            errors = text.Length == 0 ? [] : JsonSerializer.Deserialize(text, Json.RegistryErrorResponse)?.Errors ?? [];
        }
        catch (JsonException)
        {
            // Not the spec's body (a proxy's page, say): the text itself is the message.
        }

        var fallback = text.Length > 0 ? text[..Math.Min(text.Length, 300)] : answer.ReasonPhrase ?? answer.StatusCode.ToString();
        throw new RegistryApiException(answer.StatusCode, errors, fallback);
    }
}
