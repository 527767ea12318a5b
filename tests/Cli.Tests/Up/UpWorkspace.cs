using System.Globalization;
using Berth.TestSupport;
using Xunit.Abstractions;

namespace Berth.Cli.Tests.Up;

/// <summary>
/// What every <c>berth up</c> test sets up the same way: the test image, a temporary directory with the CLI's home and
/// the platform's data directory, an agent scope of its own and free registry and scheduler ports. Disposing removes the
/// scope's containers (a task left running, a failure half-way) and the directory; stop the platform first.
/// </summary>
public sealed class UpWorkspace : IAsyncDisposable
{
    private readonly DirectoryInfo _work;

    private UpWorkspace(string prefix)
    {
        _work = Directory.CreateTempSubdirectory($"berth-{prefix}-");
        Scope = $"{prefix}-{Guid.NewGuid().ToString("N")[..6]}";
    }

    /// <summary>The temporary directory that holds <see cref="Home"/>, <see cref="DataDirectory"/> and whatever the test writes.</summary>
    public string WorkDirectory => _work.FullName;

    /// <summary>The agent scope (<c>--agent-scope</c>): the label of this platform's task containers.</summary>
    public string Scope { get; }

    public int RegistryPort { get; } = TestPorts.Next();

    public int SchedulerPort { get; } = TestPorts.Next();

    /// <summary>The CLI's home, which <c>berth up</c> logs in.</summary>
    public string Home => Path.Combine(_work.FullName, "home");

    public string DataDirectory => Path.Combine(_work.FullName, "data");

    /// <summary>The ports and the scope as <c>berth up</c> takes them, then <paramref name="more"/>.</summary>
    public string[] Arguments(params string[] more) =>
    [
        "--registry-port", RegistryPort.ToString(CultureInfo.InvariantCulture),
        "--scheduler-port", SchedulerPort.ToString(CultureInfo.InvariantCulture),
        "--agent-scope", Scope, .. more,
    ];

    /// <summary>Makes the test image and the directory; <paramref name="prefix"/> names both the directory and the scope.</summary>
    public static async Task<UpWorkspace> CreateAsync(string prefix, ITestOutputHelper output)
    {
        await TestImages.EnsureBusyboxAsync(log: output.WriteLine);
        return new UpWorkspace(prefix);
    }

    /// <summary><c>berth up</c> on this workspace's home and data directory with <see cref="Arguments"/>, ready.</summary>
    public Task<BerthUpProcess> StartUpAsync(ITestOutputHelper output, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null) =>
        BerthUpProcess.StartAsync(Home, DataDirectory, arguments, output.WriteLine, environment);

    public async ValueTask DisposeAsync()
    {
        await AgentScopeContainers.RemoveAsync(Scope);
        _work.Delete(recursive: true);
    }
}
