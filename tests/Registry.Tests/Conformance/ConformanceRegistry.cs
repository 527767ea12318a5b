using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Berth.Registry.Tests.Auth;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Berth.Registry.Tests.Conformance;

/// <summary>
/// A registry configured the way the conformance suites are run against it: every optional behaviour on (sparse
/// manifests of both kinds, automatic content discovery for mounts), with or without token auth. Under auth the
/// suites' credentials are a robot that may pull, push and delete in <c>conformance/*</c> and nothing else, so every
/// scope has to come from a challenge.
/// </summary>
public abstract class ConformanceRegistry(bool auth) : IAsyncLifetime, IDisposable
{
    public const string Namespace = "conformance";
    public const string RobotName = "conformance";

    private readonly AuthRegistryFactory _factory = new();

    public bool Auth { get; } = auth;

    /// <summary>The robot's login name and secret (null without auth).</summary>
    public (string User, string Secret)? Credentials { get; private set; }

    public AuthRegistryFactory Factory => _factory;

    public async Task InitializeAsync()
    {
        _factory.Settings["Registry:Auth:Enabled"] = Auth ? "true" : "false";
        _factory.Settings["Registry:SparseManifests"] = "All";
        _factory.Settings["Registry:AutomaticContentDiscovery"] = "true";
        if (!Auth)
        {
            return;
        }

        using var admin = _factory.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/robots")
        {
            Content = JsonContent.Create(new
            {
                name = RobotName,
                permissions = new[] { new { pattern = Namespace + "/*", actions = new[] { "pull", "push", "delete" } } },
            }),
        };
        request.Headers.Authorization = AuthRegistryFactory.Basic("admin", _factory.AdminPassword);
        using var response = await admin.SendAsync(request);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var secret = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("secret").GetString()!;
        Credentials = ("robot$" + RobotName, secret);
    }

    public Task DisposeAsync()
    {
        Dispose();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        _factory.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>A client that behaves like a conformance suite's: it follows challenges as <paramref name="mode"/> says.</summary>
    public (HttpClient Client, ChallengeFollowingHandler Handler) CreateClient(TokenMode mode)
    {
        var handler = new ChallengeFollowingHandler(Credentials?.User, Credentials?.Secret, Auth ? mode : TokenMode.None);
        var client = _factory.CreateDefaultClient(handler);
        return (client, handler);
    }

    /// <summary>A client with the admin's Basic credentials traded for tokens the same way (for content outside the namespace).</summary>
    public HttpClient CreateAdminClient()
    {
        var handler = new ChallengeFollowingHandler("admin", Auth ? _factory.AdminPassword : null, Auth ? TokenMode.Cached : TokenMode.None);
        return _factory.CreateDefaultClient(handler);
    }
}

/// <summary>The registry with auth off.</summary>
public sealed class OpenConformanceRegistry() : ConformanceRegistry(auth: false);

/// <summary>The registry with token auth on.</summary>
public sealed class TokenConformanceRegistry() : ConformanceRegistry(auth: true);
