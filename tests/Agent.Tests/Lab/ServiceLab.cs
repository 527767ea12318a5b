using Berth.TestSupport;
using Xunit.Abstractions;

namespace Berth.Agent.Tests.Lab;

/// <summary>
/// One <see cref="LabPlatform"/> (four lab hosts, the scheduler, three agents) shared by every test of a class; its
/// process output goes to the running test's output.
/// </summary>
public sealed class ServiceLab : IAsyncLifetime
{
    public LabPlatform Platform { get; private set; } = null!;

    /// <summary>The running test's output; null between tests.</summary>
    public ITestOutputHelper? Output { get; set; }

    public async Task InitializeAsync() => Platform = await LabPlatform.StartAsync(line => Output?.WriteLine(line));

    public async Task DisposeAsync()
    {
        if (Platform is not null)
        {
            await Platform.DisposeAsync();
        }
    }
}
