using Microsoft.AspNetCore.Mvc.Testing;

namespace Berth.Registry.Tests.Infrastructure;

/// <summary>
/// The registry in process on its own temporary data dir (one per test class). <see cref="RestartAsync"/> stops it
/// and starts a new instance on the same data dir, as a process restart would.
/// </summary>
public sealed class RegistryApp : IAsyncLifetime
{
    private WebApplicationFactory<Program>? _factory;

    public string DataDir { get; } = Directory.CreateTempSubdirectory("berth-registry-test-").FullName;

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
            Directory.Delete(DataDir, recursive: true);
        }
        catch (IOException)
        {
            // A temp dir left behind is harmless.
        }
    }

    private WebApplicationFactory<Program> Create() =>
        new WebApplicationFactory<Program>().WithWebHostBuilder(builder => builder.UseSetting("Registry:DataDir", DataDir));
}
