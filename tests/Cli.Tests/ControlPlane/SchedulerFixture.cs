using Berth.TestSupport;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace Berth.Cli.Tests.ControlPlane;

/// <summary>One real scheduler process for a test class, on a free port, with its own data directory.</summary>
public sealed class SchedulerFixture(IMessageSink sink) : IAsyncLifetime
{
    private readonly DirectoryInfo _data = Directory.CreateTempSubdirectory("berth-cli-scheduler-");
    private ServiceProcess? _process;

    public string Url { get; private set; } = "";

    public string TokenFile { get; private set; } = "";

    public async Task InitializeAsync() =>
        (_process, Url, TokenFile) = await PlatformProcesses.StartSchedulerAsync(_data.FullName, line => sink.OnMessage(new DiagnosticMessage(line)));

    public async Task DisposeAsync()
    {
        if (_process is not null)
        {
            await _process.StopAsync();
        }

        _data.Delete(recursive: true);
    }
}
