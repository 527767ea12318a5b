using System.Collections.Concurrent;
using System.Net;
using Berth.Registry.Tests.Infrastructure;
using Berth.Registry.Tests.Notifications;
using Berth.TestSupport;
using Xunit.Abstractions;

namespace Berth.Registry.Tests.SystemTests;

/// <summary>
/// The durable outbox against a real crash: the registry process is killed with SIGKILL while clients push and while
/// its only endpoint refuses every delivery, so no event can have left before the kill. After the restart every push
/// the registry acknowledged (201) arrives at the receiver.
/// </summary>
[Trait("Category", "System")]
public sealed class NotificationSystemTests(ITestOutputHelper output) : IAsyncLifetime
{
    private EventReceiver _receiver = null!;
    private RegistryProcess? _registry;

    public async Task InitializeAsync() => _receiver = await EventReceiver.StartAsync(refuse: true);

    public async Task DisposeAsync()
    {
        if (_registry is not null)
        {
            await _registry.DisposeAsync();
        }

        await _receiver.DisposeAsync();
    }

    [Fact]
    public async Task KillDashNine_DuringPushes_EveryAcknowledgedPushIsDeliveredAfterTheRestart()
    {
        _registry = await RegistryProcess.StartAsync(
            output.WriteLine,
            RegistryKind.Berth,
            new RegistryProcessOptions(Arguments:
            [
                "--Registry:Notifications:Endpoints:0:Name=hook",
                $"--Registry:Notifications:Endpoints:0:Url={_receiver.Url}",
                "--Registry:Notifications:Endpoints:0:Backoff=00:00:00.100",
                "--Registry:Notifications:Endpoints:0:MaxBackoff=00:00:00.500",
            ]));
        using var client = new HttpClient { BaseAddress = _registry.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        var acknowledged = new ConcurrentBag<string>();
        var enough = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        // Pushes go on until the process dies under them; what got a 201 was acknowledged.
        var pushing = Task.Run(async () =>
        {
            for (var i = 0; ; i++)
            {
                try
                {
                    var manifest = await client.PushImageBlobsAsync("hooks/app", layerCount: 1);
                    using var pushed = await client.PutManifestAsync("hooks/app", $"t{i}", manifest, RegistryTestClient.DockerManifest);
                    if (pushed.StatusCode == HttpStatusCode.Created)
                    {
                        acknowledged.Add($"t{i}");
                    }
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException or Xunit.Sdk.XunitException)
                {
                    return;
                }

                if (acknowledged.Count >= 8)
                {
                    enough.TrySetResult();
                }
            }
        });

        await enough.Task.WithTimeout();
        await _receiver.WaitForRefusalsAsync(1);
        _registry.Kill();
        await pushing.WithTimeout();
        Assert.Empty(_receiver.Events);
        output.WriteLine($"{acknowledged.Count} pushes acknowledged before kill -9; {_receiver.Refusals} deliveries refused");

        _receiver.Accept();
        await _registry.RestartAsync();
        var expected = acknowledged.ToHashSet();
        var events = await _receiver.WaitForEventsAsync(e => expected.IsSubsetOf(Tags(e)));

        // At least once: a push whose 201 the kill swallowed may be there too, and nothing else.
        Assert.All(events, e => Assert.Equal("push", e.GetProperty("action").GetString()));
        Assert.Equal(events.Count, events.Select(e => e.GetProperty("id").GetString()).Distinct().Count());
        Assert.Superset(expected, Tags(events));
    }

    private static HashSet<string> Tags(IEnumerable<System.Text.Json.JsonElement> events) =>
        [.. events.Select(e => e.GetProperty("target").GetProperty("tag").GetString()!)];
}
