using Microsoft.AspNetCore.Mvc.Testing;

namespace Berth.Registry.Tests.Infrastructure;

/// <summary>
/// The registry in process on its own temporary data dir (one per test class). <see cref="RestartAsync"/> stops it
/// and starts a new instance on the same data dir, as a process restart would.
/// </summary>
public sealed class RegistryApp : IAsyncLifetime
{
    private WebApplicationFactory<Program>? _factory;

    // A space and a semicolon in the path: the data dir must work wherever the user puts it.
    public string DataDir { get; } = Directory.CreateDirectory(
        Path.Combine(Directory.CreateTempSubdirectory("berth-registry-test-").FullName, "data dir;1")).FullName;

    public WebApplicationFactory<Program> Factory => _factory ??= Create();

    public HttpClient CreateClient() =>
        Factory.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });

    public async Task RestartAsync()
    {
        if (_factory is not null)
        {
            await _factory.DisposeAsync();
        }

        _factory = Create();
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_factory is not null)
        {
            await _factory.DisposeAsync();
        }

        try
        {
            Directory.Delete(Path.GetDirectoryName(DataDir)!, recursive: true);
        }
        catch (IOException)
        {
            // A temp dir left behind is harmless.
        }
    }

    private WebApplicationFactory<Program> Create() =>
        new WebApplicationFactory<Program>().WithWebHostBuilder(builder => builder
            .UseSetting("Registry:DataDir", DataDir)
            // These tests are about the distribution API itself; tests/Registry.Tests/Auth covers it under token auth.
            .UseSetting("Registry:Auth:Enabled", "false"));
}
