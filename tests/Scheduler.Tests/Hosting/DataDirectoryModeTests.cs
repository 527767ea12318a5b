using System.Runtime.Versioning;
using Berth.Scheduler.Tests.Infrastructure;
using Berth.Scheduler.V1;
using Xunit.Abstractions;

namespace Berth.Scheduler.Tests.Hosting;

/// <summary>
/// scheduler.db holds task definitions with their environment values in clear text: the data directory is 0700 and
/// every file in it 0600, the SQLite write-ahead log and shared-memory files included, and an older version's
/// world-readable directory and database are tightened at start.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class DataDirectoryModeTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly TempDirectory _data = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        _data.Delete();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task StartedScheduler_KeepsEveryFileOwnerOnly_AndTightensLooserOnes()
    {
        File.SetUnixFileMode(_data.Path, (UnixFileMode)0b111_101_101);
        await File.WriteAllBytesAsync(Path.Combine(_data.Path, "scheduler.db"), []);
        await File.WriteAllTextAsync(Path.Combine(_data.Path, "admin-token"), "berth_admin_from_an_older_version\n");
        foreach (var file in (string[])["scheduler.db", "admin-token"])
        {
            File.SetUnixFileMode(Path.Combine(_data.Path, file), (UnixFileMode)0b110_100_100);
        }

        await using var host = await SchedulerHost.StartAsync(_data.Path, output);
        await host.TaskDefinitions.RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest { TaskDefinitionJson = TaskDefinitionSamples.Web() }, host.Admin);

        Assert.Equal("berth_admin_from_an_older_version", host.AdminToken);
        foreach (var file in (string[])["scheduler.db", "scheduler.db-wal", "scheduler.db-shm", "admin-token", "join-token"])
        {
            Assert.True(File.Exists(Path.Combine(_data.Path, file)), $"{file} exists");
        }

        var entries = new DirectoryInfo(_data.Path).EnumerateFileSystemInfos("*", SearchOption.AllDirectories).Prepend(new DirectoryInfo(_data.Path));
        Assert.All(entries, entry => Assert.Equal(
            (entry.Name, entry is DirectoryInfo ? (UnixFileMode)0b111_000_000 : (UnixFileMode)0b110_000_000),
            (entry.Name, File.GetUnixFileMode(entry.FullName))));
    }
}
