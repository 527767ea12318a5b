using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text;
using Berth.Registry.Tests.Manifests;
using Berth.TestSupport;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using static Berth.Registry.Tests.Infrastructure.RegistryTestClient;

namespace Berth.Registry.Tests.SystemTests;

/// <summary>
/// The registry on a real full filesystem (a small tmpfs as its data dir; mounting needs root, as CI runs): writes get
/// the spec's JSON error with 507 and one log line, reads go on, nothing stored is harmed, and pushes work again once
/// space is freed.
/// </summary>
[Trait("Category", "System")]
public sealed class FullDiskTests : IAsyncLifetime, IDisposable
{
    private readonly string _mount = Directory.CreateTempSubdirectory("berth-full-disk-").FullName;
    private readonly CapturedLogs _logs = new();
    private WebApplicationFactory<Program>? _factory;
    private bool _mounted;

    public async Task InitializeAsync()
    {
        var mount = await ProcessRunner.RunAsync("mount", ["-t", "tmpfs", "-o", "size=6m", "tmpfs", _mount]);
        Assert.True(mount.ExitCode == 0, $"mounting a tmpfs needs root: {mount.StandardError}");
        _mounted = true;
    }

    public async Task DisposeAsync()
    {
        if (_factory is not null)
        {
            await _factory.DisposeAsync();
        }

        SqliteConnection.ClearAllPools();
        if (_mounted)
        {
            await ProcessRunner.RunAsync("umount", [_mount]);
        }

        Directory.Delete(_mount, recursive: true);
    }

    public void Dispose() => _logs.Dispose();

    [Fact]
    public async Task AFullDisk_Answers507InTheSpecsJson_LogsOneLinePerRequest_AndKeepsServingReads()
    {
        var dataDir = Directory.CreateDirectory(Path.Combine(_mount, "data")).FullName;
        _factory = new WebApplicationFactory<Program>().WithWebHostBuilder(builder => builder
            .UseSetting("Registry:DataDir", dataDir)
            .UseSetting("Registry:Auth:Enabled", "false")
            .ConfigureLogging(logging => logging.AddProvider(_logs)));
        using var client = _factory.CreateClient();

        // Before: an image, stored while there was room.
        var manifest = await client.PushImageBlobsAsync("full/app", layerCount: 1);
        await (await client.PutManifestAsync("full/app", "v1", manifest, DockerManifest)).EnsureCreatedAsync();
        var layer = RandomBytes(100_000);
        var layerDigest = await client.PushBlobAsync("full/app", layer);

        // An upload session with its first chunk, also from before.
        var blob = RandomBytes(1_000_000);
        using var start = await client.PostAsync("/v2/full/app/blobs/uploads/", null).WithTimeout();
        Assert.Equal(HttpStatusCode.Accepted, start.StatusCode);
        using var first = await PatchAsync(client, start.LocationPath(), blob, 0, 100_000);
        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);

        var filler = Path.Combine(_mount, "filler");
        Fill(filler);
        _logs.Clear();

        // Monolithic push: 507, the spec's JSON.
        using (var monolithic = await client.PostAsync($"/v2/full/app/blobs/uploads/?digest={Sha256(blob)}", new ByteArrayContent(blob)).WithTimeout())
        {
            await AssertErrorAsync(monolithic, HttpStatusCode.InsufficientStorage, "BLOB_UPLOAD_INVALID");
        }

        // A new session (its record cannot be written either).
        using (var refused = await client.PostAsync("/v2/full/app/blobs/uploads/", null).WithTimeout())
        {
            await AssertErrorAsync(refused, HttpStatusCode.InsufficientStorage, "BLOB_UPLOAD_INVALID");
        }

        // The next chunk: 507, and the session keeps a consistent offset that the client can resume from.
        using (var patch = await PatchAsync(client, first.LocationPath(), blob, 100_000, blob.Length - 100_000))
        {
            await AssertErrorAsync(patch, HttpStatusCode.InsufficientStorage, "BLOB_UPLOAD_INVALID");
        }

        using var status = await client.GetAsync(first.LocationPath()).WithTimeout();
        Assert.Equal(HttpStatusCode.NoContent, status.StatusCode);
        var stored = long.Parse(status.Header("Range").Split('-')[1], CultureInfo.InvariantCulture) + 1;
        Assert.True(stored >= 100_000 && stored < blob.Length, $"range {status.Header("Range")}");

        // Reads go on: the manifest by tag and a blob, byte for byte.
        using (var pulled = await client.GetAsync("/v2/full/app/manifests/v1").WithTimeout())
        {
            Assert.Equal(HttpStatusCode.OK, pulled.StatusCode);
            Assert.Equal(manifest, await pulled.Content.ReadAsStringAsync());
        }

        Assert.Equal(layer, await client.GetByteArrayAsync($"/v2/full/app/blobs/{layerDigest}").WithTimeout());

        // One line per failed request, and no stack trace anywhere.
        var errors = _logs.Lines.Where(l => l.Level >= LogLevel.Warning).ToList();
        Assert.Equal(3, errors.Count(l => l.Message.Contains("Storage full", StringComparison.Ordinal)));
        Assert.DoesNotContain(_logs.Lines, l => l.HasException || l.Message.Contains("   at ", StringComparison.Ordinal));
        Assert.Equal(3, errors.Count);

        // Space freed: the same upload session resumes where it stood and completes.
        File.Delete(filler);
        using var resumed = await PatchAsync(client, first.LocationPath(), blob, (int)stored, blob.Length - (int)stored);
        Assert.Equal(HttpStatusCode.Accepted, resumed.StatusCode);
        using var put = await client.PutAsync($"{resumed.LocationPath()}&digest={Sha256(blob)}", null).WithTimeout();
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        Assert.Equal(blob, await client.GetByteArrayAsync($"/v2/full/app/blobs/{Sha256(blob)}").WithTimeout());
        var after = await client.PushImageBlobsAsync("full/app", layerCount: 1);
        await (await client.PutManifestAsync("full/app", "v2", after, DockerManifest)).EnsureCreatedAsync();
    }

    private static async Task<HttpResponseMessage> PatchAsync(HttpClient client, string location, byte[] blob, int offset, int length)
    {
        var content = new ByteArrayContent(blob, offset, length);
        content.Headers.TryAddWithoutValidation("Content-Range", $"{offset}-{offset + length - 1}");
        return await client.PatchAsync(location, content).WithTimeout();
    }

    private static void Fill(string path)
    {
        using var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 0);
        var chunk = new byte[1 << 16];
        try
        {
            while (true)
            {
                stream.Write(chunk);
                stream.Flush();
            }
        }
        catch (IOException)
        {
            // Full: exactly what the test wants.
        }

        // Whatever a 64 KiB write could not take, smaller ones take, so that not even a page is left.
        try
        {
            while (true)
            {
                stream.Write(chunk, 0, 512);
                stream.Flush();
            }
        }
        catch (IOException)
        {
        }
    }

    private sealed record LogLine(LogLevel Level, string Category, string Message, bool HasException);

    private sealed class CapturedLogs : ILoggerProvider
    {
        private readonly ConcurrentQueue<LogLine> _lines = new();

        public IReadOnlyList<LogLine> Lines => [.. _lines];

        public void Clear() => _lines.Clear();

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void Dispose()
        {
        }

        private sealed class Logger(CapturedLogs logs, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                var message = new StringBuilder(formatter(state, exception));
                if (exception is not null)
                {
                    message.Append(' ').Append(exception);
                }

                logs._lines.Enqueue(new LogLine(logLevel, category, message.ToString(), exception is not null));
            }
        }
    }
}
