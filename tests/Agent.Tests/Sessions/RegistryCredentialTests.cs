using Berth.Scheduler.V1;
using Xunit.Abstractions;

namespace Berth.Agent.Tests.Sessions;

/// <summary>
/// The ECS+ECR flow with a private image: the registry has auth on, a robot with pull rights is configured in the
/// scheduler, and a task run through scheduler and agent on the real engine pulls the image with the credential the
/// scheduler handed out; the same image under an address the scheduler does not trust gets no credential and fails.
/// </summary>
[Collection(EngineCollection.Name)]
[Trait("Category", "System")]
public sealed class RegistryCredentialTests(EngineFixture engine, ITestOutputHelper output) : IAsyncLifetime
{
    private readonly LocalPlatform _platform = new(engine, output);
    private readonly string _repository = "private/app-" + Guid.NewGuid().ToString("N")[..8];
    private readonly List<string> _pulled = [];

    [Fact]
    public async Task PrivateImage_IsPulledWithTheSchedulersCredential_AndWithoutItFailsWithCannotPullContainerError()
    {
        var registry = await _platform.StartRegistryAsync();
        var (robot, secret) = await registry.CreateRobotAsync("cluster-pull", "private/*", "pull");
        await registry.PushAsync(engine.Image, _repository + ":1", output.WriteLine);
        var secretFile = Path.Combine(_platform.WorkDirectory, "robot-secret");
        await File.WriteAllTextAsync(secretFile, secret);

        _platform.StartScheduler("--registry-url", registry.Url.ToString(), "--registry-username", robot, "--registry-password-file", secretFile);
        await _platform.ReadTokensAsync();
        _platform.StartAgent(imagePullBehavior: "Always");
        await _platform.WaitForInstanceAsync(i => i.AgentConnected);

        // Trusted address: the scheduler hands the task a login password for it; the engine pulls with it.
        var image = $"{registry.Host}/{_repository}:1";
        _pulled.Add(image);
        await _platform.RegisterAsync(Definition("private-ok", image));
        var ok = await _platform.RunAsync("private-ok");
        var running = await _platform.WaitForTaskAsync(ok, t => t.LastStatus is LifecycleStatus.Running or LifecycleStatus.Stopped);
        Assert.True(running.LastStatus == LifecycleStatus.Running, $"the task did not run: {running.StoppedReason} {running.Containers[0].Reason}");
        Assert.NotNull(await engine.Runtime.InspectImageAsync(image, CancellationToken.None));

        // The same registry under a name the scheduler does not trust (localhost instead of 127.0.0.1): no credential,
        // so the private repository is denied and the task fails to start with the engine's reason.
        var untrusted = $"localhost:{registry.Url.Port}/{_repository}:1";
        _pulled.Add(untrusted);
        await _platform.RegisterAsync(Definition("private-denied", untrusted));
        var denied = await _platform.RunAsync("private-denied");
        var failed = await _platform.WaitForTaskAsync(denied, t => t.LastStatus == LifecycleStatus.Stopped);
        Assert.Equal(StopCode.TaskFailedToStart, failed.StopCode);
        Assert.StartsWith("CannotPullContainerError:", failed.Containers[0].Reason, StringComparison.Ordinal);
        Assert.Contains("denied", failed.Containers[0].Reason, StringComparison.OrdinalIgnoreCase);

        // Neither the robot's secret nor a login password (an ES256 JWT) ever reaches a log.
        Assert.DoesNotContain(_platform.Output, line => line.Contains(secret, StringComparison.Ordinal));
        Assert.DoesNotContain(_platform.Output, line => line.Contains("eyJhbGciOiJFUzI1NiIs", StringComparison.Ordinal));
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await _platform.StopAsync();
        foreach (var image in _pulled)
        {
            await engine.Runtime.RemoveImageAsync(image, CancellationToken.None);
        }
    }

    private static string Definition(string family, string image) => $$"""
        {"family":"{{family}}","containerDefinitions":[{"name":"app","image":"{{image}}","memory":32,
          "entryPoint":["sh","-c"],"stopTimeout":2,"command":["trap 'exit 0' TERM; sleep 600 & wait"]}]}
        """;
}
