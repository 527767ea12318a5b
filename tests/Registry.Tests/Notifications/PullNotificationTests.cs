using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Berth.Registry.Notifications;
using Berth.Registry.Tests.Auth;
using Berth.Registry.Tests.Infrastructure;
using Berth.TestSupport;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace Berth.Registry.Tests.Notifications;

/// <summary>
/// Pull events through the registry: a manifest GET (by tag and by digest) and a blob GET are events for the endpoint
/// whose actions include <c>pull</c> and for no other; a HEAD is not a pull; and the request path writes no row.
/// </summary>
public sealed class PullNotificationTests : IAsyncLifetime, IDisposable
{
    private readonly AuthRegistryFactory _registry = new();
    private EventReceiver _pulls = null!;
    private EventReceiver _pushes = null!;

    public async Task InitializeAsync()
    {
        _pulls = await EventReceiver.StartAsync();
        _pushes = await EventReceiver.StartAsync();
        _registry.Settings["Registry:Auth:Enabled"] = "false";
        _registry.Settings["Registry:Notifications:Endpoints:0:Name"] = "pulls";
        _registry.Settings["Registry:Notifications:Endpoints:0:Url"] = _pulls.Url.ToString();
        _registry.Settings["Registry:Notifications:Endpoints:0:Actions:0"] = "push";
        _registry.Settings["Registry:Notifications:Endpoints:0:Actions:1"] = "pull";
        _registry.Settings["Registry:Notifications:Endpoints:1:Name"] = "pushes";
        _registry.Settings["Registry:Notifications:Endpoints:1:Url"] = _pushes.Url.ToString();
    }

    public void Dispose() => _registry.Dispose();

    public async Task DisposeAsync()
    {
        await _registry.DisposeAsync();
        await _pulls.DisposeAsync();
        await _pushes.DisposeAsync();
    }

    [Fact]
    public async Task ManifestAndBlobGets_ArePullEvents_ForTheEndpointThatAsked_HeadsAreNot()
    {
        using var client = _registry.CreateClient();
        client.DefaultRequestHeaders.UserAgent.ParseAdd("pull-test/1.0");
        var manifest = await client.PushImageBlobsAsync("team/app", layerCount: 1);
        using var pushed = await client.PutManifestAsync("team/app", "v1", manifest, RegistryTestClient.DockerManifest);
        var digest = pushed.Header("Docker-Content-Digest");
        var config = JsonDocument.Parse(manifest).RootElement.GetProperty("config");
        var configDigest = config.GetProperty("digest").GetString()!;
        await _pulls.WaitForEventsAsync(e => e.Count >= 1);

        Assert.Equal(HttpStatusCode.OK, await SendAsync(client, HttpMethod.Get, "/v2/team/app/manifests/v1"));
        Assert.Equal(HttpStatusCode.OK, await SendAsync(client, HttpMethod.Get, $"/v2/team/app/manifests/{digest}"));
        Assert.Equal(HttpStatusCode.OK, await SendAsync(client, HttpMethod.Head, "/v2/team/app/manifests/v1"));
        Assert.Equal(HttpStatusCode.OK, await SendAsync(client, HttpMethod.Head, $"/v2/team/app/blobs/{configDigest}"));
        Assert.Equal(HttpStatusCode.OK, await SendAsync(client, HttpMethod.Get, $"/v2/team/app/blobs/{configDigest}"));

        // Noted in memory: the pulls were answered without an outbox row; the flush writes them (here at once rather
        // than after PullFlushInterval on the test's clock, which the loop's timer may not be waiting on yet).
        var pullEvents = _registry.Services.GetRequiredService<PullEvents>();
        Assert.Equal(3, pullEvents.Pending);
        Assert.Equal(0, await CountPullRowsAsync());
        await pullEvents.FlushAsync(CancellationToken.None);

        var events = await _pulls.WaitForEventsAsync(e => e.Count >= 4);
        Assert.Equal(["push", "pull", "pull", "pull"], events.Select(e => e.GetProperty("action").GetString()));
        var byTag = events[1].GetProperty("target");
        Assert.Equal(("team/app", digest, "v1"), (byTag.GetProperty("repository").GetString(), byTag.GetProperty("digest").GetString(), byTag.GetProperty("tag").GetString()));
        Assert.Equal(RegistryTestClient.DockerManifest, byTag.GetProperty("mediaType").GetString());
        Assert.Equal(manifest.Length, byTag.GetProperty("size").GetInt64());
        Assert.EndsWith($"/v2/team/app/manifests/{digest}", byTag.GetProperty("url").GetString(), StringComparison.Ordinal);
        Assert.Equal("GET", events[1].GetProperty("request").GetProperty("method").GetString());
        Assert.Equal("pull-test/1.0", events[1].GetProperty("request").GetProperty("useragent").GetString());
        Assert.Equal(
            events[0].GetProperty("source").GetProperty("instanceID").GetString(),
            events[1].GetProperty("source").GetProperty("instanceID").GetString());

        var byDigest = events[2].GetProperty("target");
        Assert.Equal(digest, byDigest.GetProperty("digest").GetString());
        Assert.False(byDigest.TryGetProperty("tag", out _));

        var blob = events[3].GetProperty("target");
        Assert.Equal(configDigest, blob.GetProperty("digest").GetString());
        Assert.Equal(config.GetProperty("size").GetInt64(), blob.GetProperty("size").GetInt64());
        Assert.Equal(PullEvents.BlobMediaType, blob.GetProperty("mediaType").GetString());
        Assert.EndsWith($"/v2/team/app/blobs/{configDigest}", blob.GetProperty("url").GetString(), StringComparison.Ordinal);

        // The other endpoint only wants pushes: a second push reaches it right after the first, the pulls between
        // them passed over.
        using var again = await client.PutManifestAsync("team/app", "v2", manifest, RegistryTestClient.DockerManifest);
        var theirs = await _pushes.WaitForEventsAsync(e => e.Count >= 2);
        Assert.Equal([("push", "v1"), ("push", "v2")], theirs.Select(e => (e.GetProperty("action").GetString(), e.GetProperty("target").GetProperty("tag").GetString())));
    }

    private static async Task<HttpStatusCode> SendAsync(HttpClient client, HttpMethod method, string path)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(RegistryTestClient.DockerManifest));
        using var response = await client.SendAsync(request).WithTimeout();
        await response.Content.ReadAsByteArrayAsync();
        return response.StatusCode;
    }

    private async Task<long> CountPullRowsAsync()
    {
        await using var connection = new SqliteConnection($"Data Source={Path.Combine(_registry.DataDir, "registry.db")};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        using var command = connection.CreateCommand();
        command.CommandText = """SELECT COUNT(*) FROM "NotificationEvents" WHERE "Action" = 'pull';""";
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
