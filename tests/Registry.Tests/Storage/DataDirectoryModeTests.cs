using System.Net;
using System.Runtime.Versioning;
using Berth.Registry.Tests.Infrastructure;
using static Berth.Registry.Tests.Infrastructure.RegistryTestClient;

namespace Berth.Registry.Tests.Storage;

/// <summary>
/// The registry's data directory is its owner's alone: directories 0700, files 0600 (databases with their SQLite
/// write-ahead logs, blobs, uploads, the signing key, the admin password), including what an older version left
/// world-readable.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class DataDirectoryModeTests : IAsyncLifetime
{
    private const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode PrivateDirectory = Private | UnixFileMode.UserExecute;
    private readonly RegistryApp _app = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => _app.DisposeAsync();

    [Fact]
    public async Task AfterPushes_EveryFileIs0600_AndEveryDirectory0700_LooserOnesFromBeforeTightened()
    {
        // An older registry's leftovers: a world-readable data dir, blobs dir and database.
        File.SetUnixFileMode(_app.DataDir, (UnixFileMode)0b111_101_101);
        Directory.CreateDirectory(Path.Combine(_app.DataDir, "blobs"));
        File.SetUnixFileMode(Path.Combine(_app.DataDir, "blobs"), (UnixFileMode)0b111_101_101);
        await File.WriteAllBytesAsync(Path.Combine(_app.DataDir, "registry.db"), []);
        File.SetUnixFileMode(Path.Combine(_app.DataDir, "registry.db"), (UnixFileMode)0b110_100_100);
        var client = _app.CreateClient();

        var digest = await client.PushBlobAsync("modes/app", RandomBytes(4096));
        // An upload left open: its file sits in uploads/ until it is finished or expires.
        using var started = await client.PostAsync("/v2/modes/app/blobs/uploads/", null);
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);

        var blob = Path.Combine(_app.DataDir, "blobs", "sha256", digest[7..9], digest[7..]);
        string[] mustExist = ["registry.db-wal", "registry.db-shm", "auth.db", "auth.db-wal", "initial-admin-password"];
        foreach (var path in mustExist)
        {
            Assert.True(File.Exists(Path.Combine(_app.DataDir, path)), $"{path} exists");
        }

        Assert.True(File.Exists(blob));
        Assert.Single(Directory.GetFiles(Path.Combine(_app.DataDir, "uploads")));
        var entries = new DirectoryInfo(_app.DataDir).EnumerateFileSystemInfos("*", SearchOption.AllDirectories).Prepend(new DirectoryInfo(_app.DataDir));
        Assert.All(entries, entry => Assert.Equal(
            (entry.FullName, entry is DirectoryInfo ? PrivateDirectory : Private),
            (entry.FullName, File.GetUnixFileMode(entry.FullName))));
    }
}
