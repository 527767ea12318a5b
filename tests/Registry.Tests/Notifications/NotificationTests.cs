using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Berth.Registry.Tests.Auth;
using Berth.Registry.Tests.Infrastructure;
using Berth.RegistryAdmin;
using Berth.TestSupport;
using Microsoft.Data.Sqlite;

namespace Berth.Registry.Tests.Notifications;

/// <summary>
/// Notifications in process against a real HTTP receiver: distribution's envelope, retries with backoff on the
/// test's clock, the outbox written with the change (a refused push records nothing), restarts, and status.
/// </summary>
public sealed class NotificationTests : IAsyncLifetime, IDisposable
{
    private static readonly TimeSpan Backoff = TimeSpan.FromSeconds(10);
    private readonly AuthRegistryFactory _registry = new();
    private EventReceiver _receiver = null!;

    public async Task InitializeAsync()
    {
        _receiver = await EventReceiver.StartAsync();
        _registry.Settings["Registry:Auth:Enabled"] = "false";
        _registry.Settings["Registry:Notifications:Endpoints:0:Name"] = "hook";
        _registry.Settings["Registry:Notifications:Endpoints:0:Url"] = _receiver.Url.ToString();
        _registry.Settings["Registry:Notifications:Endpoints:0:Backoff"] = Backoff.ToString("c", CultureInfo.InvariantCulture);
        _registry.Settings["Registry:Notifications:Endpoints:0:Headers:Authorization"] = "Bearer hook-secret";
    }

    public void Dispose() => _registry.Dispose();

    public async Task DisposeAsync()
    {
        await _registry.DisposeAsync();
        await _receiver.DisposeAsync();
    }

    [Fact]
    public async Task PushAndDeletes_AreDelivered_AsDistributionEnvelopes_InOrder()
    {
        using var client = _registry.CreateClient();
        var manifest = await client.PushImageBlobsAsync("team/app");
        using var pushed = await client.PutManifestAsync("team/app", "v1", manifest, RegistryTestClient.DockerManifest);
        Assert.Equal(HttpStatusCode.Created, pushed.StatusCode);
        var digest = pushed.Header("Docker-Content-Digest");
        Assert.Equal(HttpStatusCode.Accepted, (await client.DeleteAsync("/v2/team/app/manifests/v1")).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await client.DeleteAsync($"/v2/team/app/manifests/{digest}")).StatusCode);
        var layer = JsonDocument.Parse(manifest).RootElement.GetProperty("layers")[0].GetProperty("digest").GetString()!;
        Assert.Equal(HttpStatusCode.Accepted, (await client.DeleteAsync($"/v2/team/app/blobs/{layer}")).StatusCode);

        var events = await _receiver.WaitForEventsAsync(e => e.Count >= 4);

        Assert.Equal(4, events.Count);
        var envelope = _receiver.Envelopes[0];
        Assert.Equal("application/vnd.docker.distribution.events.v1+json", envelope.ContentType?.Split(';')[0]);
        Assert.Equal("Bearer hook-secret", envelope.Authorization);

        var push = events[0];
        Assert.Equal("push", push.GetProperty("action").GetString());
        var target = push.GetProperty("target");
        Assert.Equal("team/app", target.GetProperty("repository").GetString());
        Assert.Equal(digest, target.GetProperty("digest").GetString());
        Assert.Equal("v1", target.GetProperty("tag").GetString());
        Assert.Equal(RegistryTestClient.DockerManifest, target.GetProperty("mediaType").GetString());
        Assert.Equal(manifest.Length, target.GetProperty("size").GetInt64());
        Assert.Equal(manifest.Length, target.GetProperty("length").GetInt64());
        Assert.EndsWith($"/v2/team/app/manifests/{digest}", target.GetProperty("url").GetString(), StringComparison.Ordinal);
        Assert.Equal("PUT", push.GetProperty("request").GetProperty("method").GetString());
        Assert.False(string.IsNullOrEmpty(push.GetProperty("source").GetProperty("instanceID").GetString()));
        Assert.Equal(_registry.Time.GetUtcNow(), push.GetProperty("timestamp").GetDateTimeOffset());

        Assert.Equal(("delete", "v1"), (events[1].GetProperty("action").GetString(), events[1].GetProperty("target").GetProperty("tag").GetString()));
        Assert.Equal(("delete", digest), (events[2].GetProperty("action").GetString(), events[2].GetProperty("target").GetProperty("digest").GetString()));
        Assert.Equal(("delete", layer), (events[3].GetProperty("action").GetString(), events[3].GetProperty("target").GetProperty("digest").GetString()));
        Assert.EndsWith($"/v2/team/app/blobs/{layer}", events[3].GetProperty("target").GetProperty("url").GetString(), StringComparison.Ordinal);
        Assert.Equal(4, events.Select(e => e.GetProperty("id").GetString()).Distinct().Count());
    }

    [Fact]
    public async Task RefusedPush_RecordsNoEvent_TheNextPushIsTheFirstEvent()
    {
        using var client = _registry.CreateClient();
        var missing = RegistryTestClient.Sha256(RegistryTestClient.RandomBytes(10));
        var broken = $$"""{"schemaVersion":2,"mediaType":"{{RegistryTestClient.DockerManifest}}","config":{"mediaType":"{{RegistryTestClient.DockerConfig}}","digest":"{{missing}}","size":10},"layers":[]}""";
        using var refused = await client.PutManifestAsync("team/app", "broken", broken, RegistryTestClient.DockerManifest);
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        using var pushed = await client.PutManifestAsync("team/app", "good", await client.PushImageBlobsAsync("team/app"), RegistryTestClient.DockerManifest);
        Assert.Equal(HttpStatusCode.Created, pushed.StatusCode);

        var events = await _receiver.WaitForEventsAsync(e => e.Count >= 1);

        Assert.Equal("good", Assert.Single(events).GetProperty("target").GetProperty("tag").GetString());

        // Once the endpoint's cursor has moved past it, the event leaves the outbox.
        await WaitForStatusAsync(s => s.Delivered == 1 && s.Pending == 0);
        Assert.Equal(0, await CountOutboxRowsAsync());
    }

    [Fact]
    public async Task FailingEndpoint_IsRetriedWithDoublingBackoff_StatusSaysSo_AndNothingIsLost()
    {
        _receiver.Refuse();
        using var client = _registry.CreateClient();
        foreach (var tag in new[] { "a", "b", "c" })
        {
            using var pushed = await client.PutManifestAsync("team/app", tag, await client.PushImageBlobsAsync("team/app", layerCount: 1), RegistryTestClient.DockerManifest);
            Assert.Equal(HttpStatusCode.Created, pushed.StatusCode);
        }

        await _receiver.WaitForRefusalsAsync(1);
        var failing = await WaitForStatusAsync(s => s.ConsecutiveFailures == 1);
        Assert.Equal(3, failing.Pending);
        Assert.Equal("503 Service Unavailable", failing.LastError);
        Assert.Equal(failing.LastErrorAt + Backoff, failing.NextAttemptAt);

        // Nothing is tried again before the backoff has passed on the registry's clock; then it is, and waits twice as long.
        _registry.Time.Advance(Backoff);
        await _receiver.WaitForRefusalsAsync(2);
        var twice = await WaitForStatusAsync(s => s.ConsecutiveFailures == 2);
        Assert.Equal(twice.LastErrorAt + (2 * Backoff), twice.NextAttemptAt);

        _receiver.Accept();
        _registry.Time.Advance(2 * Backoff);
        var events = await _receiver.WaitForEventsAsync(e => e.Count >= 3);

        Assert.Equal(["a", "b", "c"], events.Select(e => e.GetProperty("target").GetProperty("tag").GetString()));
        var healthy = await WaitForStatusAsync(s => s.ConsecutiveFailures == 0 && s.Pending == 0);
        Assert.Equal(3, healthy.Delivered);
        Assert.Equal(2, healthy.Failures);
        Assert.Null(healthy.NextAttemptAt);
    }

    [Fact]
    public async Task QueuedEvents_SurviveARestart_AndAreDeliveredAfterIt()
    {
        _receiver.Refuse();
        using (var client = _registry.CreateClient())
        {
            using var pushed = await client.PutManifestAsync("team/app", "before-restart", await client.PushImageBlobsAsync("team/app", layerCount: 1), RegistryTestClient.DockerManifest);
            Assert.Equal(HttpStatusCode.Created, pushed.StatusCode);
            await _receiver.WaitForRefusalsAsync(1);
        }

        // A new host on the same data dir (WebApplicationFactory cannot kill -9: NotificationSystemTests does).
        _registry.KeepDataDir = true;
        await _registry.DisposeAsync();
        var restarted = new AuthRegistryFactory();
        await using var _ = restarted;
        foreach (var (key, value) in _registry.Settings)
        {
            restarted.Settings[key] = value;
        }

        restarted.Settings["Registry:DataDir"] = _registry.DataDir;
        _receiver.Accept();
        using var second = restarted.CreateClient();
        var events = await _receiver.WaitForEventsAsync(e => e.Count >= 1);

        Assert.Equal("before-restart", Assert.Single(events).GetProperty("target").GetProperty("tag").GetString());
        await restarted.DisposeAsync();
        Directory.Delete(_registry.DataDir, recursive: true);
    }

    [Fact]
    public async Task WithoutEndpoints_APushWritesNoOutboxRow()
    {
        var plain = new AuthRegistryFactory();
        await using var _ = plain;
        plain.Settings["Registry:Auth:Enabled"] = "false";
        using var client = plain.CreateClient();
        using var pushed = await client.PutManifestAsync("team/app", "v1", await client.PushImageBlobsAsync("team/app"), RegistryTestClient.DockerManifest);
        Assert.Equal(HttpStatusCode.Created, pushed.StatusCode);

        Assert.Equal(0, await CountOutboxRowsAsync(plain.DataDir));
        using var request = new HttpRequestMessage(HttpMethod.Get, SyncApiPaths.NotificationEndpoints);
        request.Headers.Authorization = AuthRegistryFactory.Basic("admin", plain.AdminPassword);
        using var status = await client.SendAsync(request);
        Assert.Empty((await status.Content.ReadFromJsonAsync(RegistryAdminJsonContext.Default.ListNotificationEndpointStatus))!);
    }

    private async Task<NotificationEndpointStatus> WaitForStatusAsync(Func<NotificationEndpointStatus, bool> condition)
    {
        using var http = _registry.CreateClient();
        http.DefaultRequestHeaders.Authorization = AuthRegistryFactory.Basic("admin", _registry.AdminPassword);
        var admin = new RegistryAdminClient(http, "admin", _registry.AdminPassword);
        NotificationEndpointStatus? last = null;
        await TaskTimeouts.WaitUntilAsync(
            async () =>
            {
                last = Assert.Single(await admin.ListNotificationEndpointsAsync(CancellationToken.None));
                return condition(last);
            },
            what: "the endpoint's status");
        return last!;
    }

    private Task<long> CountOutboxRowsAsync() => CountOutboxRowsAsync(_registry.DataDir);

    private static async Task<long> CountOutboxRowsAsync(string dataDir)
    {
        await using var connection = new SqliteConnection($"Data Source={Path.Combine(dataDir, "registry.db")};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        using var command = connection.CreateCommand();
        command.CommandText = """SELECT COUNT(*) FROM "NotificationEvents";""";
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
