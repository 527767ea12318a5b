using Berth.TestSupport;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace Berth.Cli.Tests.Registry;

/// <summary>One real registry process (auth on) for a test class.</summary>
public sealed class RegistryFixture(IMessageSink sink) : IAsyncLifetime
{
    private readonly DirectoryInfo _data = Directory.CreateTempSubdirectory("berth-cli-registry-");
    private ServiceProcess? _process;

    public string Url { get; private set; } = "";

    public string AdminPassword { get; private set; } = "";

    public string PasswordFile => Path.Combine(_data.FullName, "initial-admin-password");

    public async Task InitializeAsync() =>
        (_process, Url, AdminPassword) = await PlatformProcesses.StartRegistryAsync(_data.FullName, line => sink.OnMessage(new DiagnosticMessage(line)));

    public async Task DisposeAsync()
    {
        if (_process is not null)
        {
            await _process.StopAsync();
        }

        _data.Delete(recursive: true);
    }
}
