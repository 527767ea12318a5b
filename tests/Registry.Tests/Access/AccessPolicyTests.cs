using System.Net;
using Berth.Registry.Access;
using Berth.Registry.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using static Berth.Registry.Tests.Infrastructure.RegistryTestClient;

namespace Berth.Registry.Tests.Access;

/// <summary>The auth seam: every request asks the policy with its repository and action before touching storage.</summary>
public sealed class AccessPolicyTests : IAsyncLifetime
{
    private readonly RegistryApp _app = new();
    private readonly RecordingPolicy _policy = new();
    private WebApplicationFactory<Program> _factory = null!;
    private HttpClient _client = null!;

    public Task InitializeAsync()
    {
        _factory = _app.Factory.WithWebHostBuilder(builder =>
            builder.ConfigureServices(services => services.AddSingleton<IRegistryAccessPolicy>(_policy)));
        _client = _factory.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _factory.DisposeAsync();
        await _app.DisposeAsync();
    }

    [Fact]
    public async Task EveryRoute_ResolvesRepositoryAndAction()
    {
        var digest = Sha256(RandomBytes(4));
        (await _client.GetAsync("/v2/")).Dispose();
        (await _client.GetAsync("/v2/_catalog")).Dispose();
        (await _client.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v2/team/app/blobs/{digest}"))).Dispose();
        (await _client.PostAsync("/v2/team/app/blobs/uploads/", null)).Dispose();
        (await _client.DeleteAsync("/v2/team/app/manifests/v1")).Dispose();
        (await _client.GetAsync("/v2/team/app/tags/list")).Dispose();

        Assert.Equal(
            ["Base:", "Catalog:", "Pull:team/app", "Push:team/app", "Delete:team/app", "Pull:team/app"],
            _policy.Calls);
    }

    [Fact]
    public async Task Denied_Is401Denied_Unauthenticated_Is401Unauthorized_AndNothingIsStored()
    {
        _policy.Deny("locked", RegistryAction.Push, AccessDecision.Denied);
        _policy.Deny("secret", RegistryAction.Pull, AccessDecision.Unauthorized);
        var content = RandomBytes(100);

        using var push = await _client.PostAsync($"/v2/locked/blobs/uploads/?digest={Sha256(content)}", new ByteArrayContent(content));
        // 401 either way (clients fetch a better token only on a 401); the code tells the two apart.
        await AssertErrorAsync(push, HttpStatusCode.Unauthorized, "DENIED");
        using var pull = await _client.GetAsync("/v2/secret/tags/list");
        await AssertErrorAsync(pull, HttpStatusCode.Unauthorized, "UNAUTHORIZED");

        using var catalog = await _client.GetAsync("/v2/_catalog");
        Assert.DoesNotContain("locked", await catalog.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Mount_FromARepositoryTheCallerMayNotRead_FallsBackToAnUpload()
    {
        var digest = await _client.PushBlobAsync("hidden/source", RandomBytes(256));
        _policy.Deny("hidden/source", RegistryAction.Pull, AccessDecision.Denied);

        using var withFrom = await _client.PostAsync($"/v2/thief/blobs/uploads/?mount={digest}&from=hidden/source", null);
        Assert.Equal(HttpStatusCode.Accepted, withFrom.StatusCode);
        using var withoutFrom = await _client.PostAsync($"/v2/thief/blobs/uploads/?mount={digest}", null);
        Assert.Equal(HttpStatusCode.Accepted, withoutFrom.StatusCode);

        using var head = await _client.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v2/thief/blobs/{digest}"));
        Assert.Equal(HttpStatusCode.NotFound, head.StatusCode);
    }

    private sealed class RecordingPolicy : IRegistryAccessPolicy
    {
        private readonly Dictionary<(string, RegistryAction), AccessDecision> _rules = [];

        public List<string> Calls { get; } = [];

        public void Deny(string repository, RegistryAction action, AccessDecision decision) => _rules[(repository, action)] = decision;

        public ValueTask<AccessDecision> CheckAsync(HttpContext context, ReadOnlyMemory<char> repository, RegistryAction action)
        {
            lock (Calls)
            {
                Calls.Add($"{action}:{repository}");
            }

            return ValueTask.FromResult(_rules.TryGetValue((repository.ToString(), action), out var decision) ? decision : AccessDecision.Allow);
        }
    }
}
