using System.Net;
using System.Text.Json;
using Berth.Registry.Notifications;
using Berth.Registry.Outbox;
using Berth.Registry.Storage.Sqlite;
using Berth.Registry.Tests.Infrastructure;
using Berth.TestSupport;
using Microsoft.AspNetCore.Http;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Berth.Registry.Tests.Notifications;

/// <summary>
/// <see cref="PullEvents"/> against a real outbox database: pulls are noted in memory (no row), written in one
/// transaction on the interval, at half the cap, and at the stop; beyond the cap they are dropped, not held; and nothing
/// is noted when no endpoint wants pulls.
/// </summary>
public sealed class PullEventsTests : IAsyncLifetime, IDisposable
{
    private readonly string _dataDir = Directory.CreateTempSubdirectory("berth-pulls-").FullName;
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 4, 12, 0, 0, TimeSpan.Zero));
    private readonly TimerSignallingTime _timers;
    private readonly ChangeSignal _signal = new();
    private SqliteMetadataStore _store = null!;
    private ChangeOutbox _outbox = null!;
    private int _wakeups;

    public PullEventsTests()
    {
        _timers = new TimerSignallingTime(_time);
        _signal.Subscribe(() => Interlocked.Increment(ref _wakeups));
    }

    public async Task InitializeAsync()
    {
        // The store migrates the database the outbox writes to.
        _store = new SqliteMetadataStore(RegistryDataDirectory.Open(_dataDir), TimeProvider.System);
        await _store.InitializeAsync(CancellationToken.None);
        _outbox = new ChangeOutbox(RegistryDataDirectory.Open(_dataDir), _time, []);
    }

    public void Dispose()
    {
        _store.Dispose();
        _outbox.Dispose();
    }

    public Task DisposeAsync()
    {
        Dispose();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dataDir, recursive: true);
        return Task.CompletedTask;
    }

    private PullEvents Events(int maxPending = 100, params string[] actions) => new(
        _outbox,
        new OutboxJournal([], _time, _signal),
        _signal,
        Options.Create(new NotificationOptions
        {
            Endpoints = [new NotificationEndpointOptions { Name = "hook", Url = new Uri("http://127.0.0.1:9/events"), Actions = actions.Length == 0 ? ["pull"] : [.. actions] }],
            PullFlushInterval = TimeSpan.FromSeconds(1),
            MaxPendingPulls = maxPending,
        }),
        _timers,
        NullLogger<PullEvents>.Instance);

    [Fact]
    public async Task Pulls_AreNotedInMemory_AndWrittenOnTheInterval_AsDistributionEvents()
    {
        using var events = Events();
        await events.StartAsync(CancellationToken.None);
        await _timers.Created.Reader.ReadAsync().AsTask().WithTimeout();

        events.Manifest(Request("GET", "/v2/team/app/manifests/v1"), "team/app", "sha256:aaa", "application/vnd.oci.image.manifest.v1+json", 512, "v1");
        _time.Advance(TimeSpan.FromMilliseconds(300));
        events.Blob(Request("GET", "/v2/team/app/blobs/sha256:bbb"), "team/app", "sha256:bbb", 1234);

        // Served, and not a row yet: the request path wrote nothing.
        Assert.Equal(2, events.Pending);
        Assert.Empty(await RowsAsync());

        _time.Advance(TimeSpan.FromMilliseconds(700));
        await TaskTimeouts.WaitUntilAsync(async () => (await RowsAsync()).Count == 2, what: "the flush");
        Assert.Equal(0, events.Pending);
        Assert.Equal(1, Volatile.Read(ref _wakeups));

        var rows = await RowsAsync();
        Assert.All(rows, r => Assert.Equal("pull", r.Action));
        var manifest = JsonDocument.Parse(rows[0].Payload).RootElement;
        Assert.Equal("pull", manifest.GetProperty("action").GetString());
        Assert.Equal(new DateTimeOffset(2026, 12, 4, 12, 0, 0, TimeSpan.Zero), manifest.GetProperty("timestamp").GetDateTimeOffset());
        var target = manifest.GetProperty("target");
        Assert.Equal("application/vnd.oci.image.manifest.v1+json", target.GetProperty("mediaType").GetString());
        Assert.Equal(512, target.GetProperty("size").GetInt64());
        Assert.Equal(512, target.GetProperty("length").GetInt64());
        Assert.Equal("sha256:aaa", target.GetProperty("digest").GetString());
        Assert.Equal("team/app", target.GetProperty("repository").GetString());
        Assert.Equal("v1", target.GetProperty("tag").GetString());
        Assert.Equal("http://registry.test:5000/v2/team/app/manifests/sha256:aaa", target.GetProperty("url").GetString());
        var request = manifest.GetProperty("request");
        Assert.Equal("GET", request.GetProperty("method").GetString());
        Assert.Equal("10.1.2.3:4567", request.GetProperty("addr").GetString());
        Assert.Equal("registry.test:5000", request.GetProperty("host").GetString());
        Assert.Equal("docker/28.0", request.GetProperty("useragent").GetString());
        Assert.Equal("ci-bot", manifest.GetProperty("actor").GetProperty("name").GetString());

        var blob = JsonDocument.Parse(rows[1].Payload).RootElement;
        Assert.Equal(new DateTimeOffset(2026, 12, 4, 12, 0, 0, 300, TimeSpan.Zero), blob.GetProperty("timestamp").GetDateTimeOffset());
        Assert.Equal(PullEvents.BlobMediaType, blob.GetProperty("target").GetProperty("mediaType").GetString());
        Assert.Equal(1234, blob.GetProperty("target").GetProperty("size").GetInt64());
        Assert.False(blob.GetProperty("target").TryGetProperty("tag", out _));
        Assert.Equal("http://registry.test:5000/v2/team/app/blobs/sha256:bbb", blob.GetProperty("target").GetProperty("url").GetString());
        await events.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task HalfTheCap_IsWrittenAtOnce_AndPullsBeyondTheCap_AreDropped()
    {
        // Not started: nothing flushes behind the test's back, so the cap is what stops the pulls.
        using var events = Events(maxPending: 4);
        for (var i = 0; i < 6; i++)
        {
            events.Blob(Request("GET", "/v2/a/blobs/sha256:" + i), "a", "sha256:" + i, i);
        }

        Assert.Equal(4, events.Pending);
        await events.FlushAsync(CancellationToken.None);
        Assert.Equal(["sha256:0", "sha256:1", "sha256:2", "sha256:3"], (await RowsAsync()).Select(r => Digest(r.Payload)));

        // Room again once written; and with the loop running, the second of a cap of 4 starts a write without the clock.
        await events.StartAsync(CancellationToken.None);
        events.Blob(Request("GET", "/v2/a/blobs/sha256:x"), "a", "sha256:x", 1);
        events.Blob(Request("GET", "/v2/a/blobs/sha256:y"), "a", "sha256:y", 1);
        await TaskTimeouts.WaitUntilAsync(async () => (await RowsAsync()).Count == 6, what: "the write at half the cap");
        await events.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Stopping_WritesWhatIsLeft()
    {
        using var events = Events();
        await events.StartAsync(CancellationToken.None);
        events.Manifest(Request("GET", "/v2/a/manifests/sha256:m"), "a", "sha256:m", "application/vnd.oci.image.manifest.v1+json", 10, null);

        await events.StopAsync(CancellationToken.None);

        var row = Assert.Single(await RowsAsync());
        Assert.False(JsonDocument.Parse(row.Payload).RootElement.GetProperty("target").TryGetProperty("tag", out _));
    }

    [Fact]
    public async Task WithoutAnEndpointThatWantsPulls_NothingIsNoted()
    {
        using var events = Events(100, "push", "delete");
        Assert.False(events.Enabled);

        events.Manifest(Request("GET", "/v2/a/manifests/v1"), "a", "sha256:m", "application/vnd.oci.image.manifest.v1+json", 10, "v1");
        await events.FlushAsync(CancellationToken.None);

        Assert.Equal(0, events.Pending);
        Assert.Empty(await RowsAsync());
    }

    private static DefaultHttpContext Request(string method, string path)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = method;
        context.Request.Scheme = "http";
        context.Request.Host = new HostString("registry.test:5000");
        context.Request.Path = path;
        context.Request.Headers.UserAgent = "docker/28.0";
        context.Request.Headers.Authorization = "Basic " + Convert.ToBase64String("ci-bot:secret"u8);
        context.Connection.RemoteIpAddress = IPAddress.Parse("10.1.2.3");
        context.Connection.RemotePort = 4567;
        return context;
    }

    private static string? Digest(string payload) => JsonDocument.Parse(payload).RootElement.GetProperty("target").GetProperty("digest").GetString();

    private async Task<List<(string Action, string Payload)>> RowsAsync()
    {
        await using var connection = new SqliteConnection($"Data Source={Path.Combine(_dataDir, "registry.db")};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        using var command = connection.CreateCommand();
        command.CommandText = """SELECT "Action", "Payload" FROM "NotificationEvents" ORDER BY "Id";""";
        var rows = new List<(string, string)>();
        using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add((reader.GetString(0), reader.GetString(1)));
        }

        return rows;
    }
}
