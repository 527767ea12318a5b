using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Berth.TestSupport;

namespace Berth.Cli.Tests.Up;

/// <summary>
/// <c>berth up</c> as a user runs it: the real CLI process (from its build output) with its own home directory and
/// free ports; ready once it has printed its JSON summary.
/// </summary>
public sealed class BerthUpProcess : IAsyncDisposable
{
    private readonly ConcurrentQueue<string> _lines = new();
    private ServiceProcess? _process;

    private readonly IReadOnlyDictionary<string, string> _environment;

    private BerthUpProcess(string home, string dataDirectory, IReadOnlyDictionary<string, string>? environment)
    {
        Home = home;
        DataDirectory = dataDirectory;
        _environment = environment ?? new Dictionary<string, string>();
    }

    public string Home { get; }

    public string DataDirectory { get; }

    public JsonNode Summary { get; private set; } = new JsonObject();

    public double ReadySeconds => (double)Summary["readySeconds"]!;

    public string RegistryUrl => ((string)Summary["registry"]!).TrimEnd('/');

    public string SchedulerUrl => ((string)Summary["scheduler"]!).TrimEnd('/');

    public bool HasExited => _process?.HasExited ?? true;

    public IEnumerable<string> Lines => _lines;

    /// <summary>Starts <c>berth -o json up</c> with <paramref name="arguments"/> and waits for its summary.</summary>
    /// <param name="environment">More environment for berth up, which its parts inherit (e.g. <c>CapacityProviders__Interval</c> for the scheduler).</param>
    public static async Task<BerthUpProcess> StartAsync(string home, string dataDirectory, IEnumerable<string> arguments, Action<string> log, IReadOnlyDictionary<string, string>? environment = null)
    {
        var up = new BerthUpProcess(home, dataDirectory, environment);
        await up.StartAsync(arguments, log);
        return up;
    }

    /// <summary>Starts it again on the same data directory (the adoption path).</summary>
    public async Task RestartAsync(IEnumerable<string> arguments, Action<string> log)
    {
        await StopAsync();
        _lines.Clear();
        await StartAsync(arguments, log);
    }

    private async Task StartAsync(IEnumerable<string> arguments, Action<string> log)
    {
        _process = ServiceProcess.Start(
            "berth-up",
            PlatformProcesses.Binary("Cli", "berth.dll"),
            ["-o", "json", "up", "--data-dir", DataDirectory, .. arguments],
            line =>
            {
                _lines.Enqueue(line[(line.IndexOf("] ", StringComparison.Ordinal) + 2)..]);
                log(line);
            },
            new Dictionary<string, string>(_environment) { ["BERTH_HOME"] = Home });
        await TaskTimeouts.WaitUntilAsync(() =>
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException("berth up exited before it was ready:\n" + string.Join('\n', _lines));
            }

            return Task.FromResult(_lines.Any(l => l.Contains("\"readySeconds\"", StringComparison.Ordinal)) && _lines.Any(l => l == "}"));
        }, TimeSpan.FromSeconds(120), "berth up to be ready");
        var text = string.Join('\n', _lines);
        Summary = JsonNode.Parse(text[text.IndexOf('{', StringComparison.Ordinal)..(text.LastIndexOf('}') + 1)])!;
    }

    /// <summary>The berth process's id while it runs.</summary>
    public int ProcessId => _process?.Id ?? throw new InvalidOperationException("berth up is not running");

    /// <summary>SIGKILL of the berth process alone: its children are left to notice.</summary>
    public Task KillOnlyItselfAsync() => _process?.KillAsync(entireProcessTree: false) ?? Task.CompletedTask;

    /// <summary>SIGTERM, as Ctrl-C or systemd would stop it.</summary>
    public async Task StopAsync()
    {
        if (_process is not null)
        {
            await _process.StopAsync(TimeSpan.FromSeconds(60));
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is not null)
        {
            await _process.DisposeAsync();
        }

        await RemoveFargateLabAsync();
    }

    /// <summary>
    /// As root, <c>berth up</c> makes a lab for its FARGATE pool (<c>fargate/lab.json</c> names it). A clean stop removes
    /// it when no pool host is left; a killed one, or a test that fails half-way, leaves it: lab/down.sh removes it with
    /// whatever hosts it still has.
    /// </summary>
    private async Task RemoveFargateLabAsync()
    {
        var identity = Path.Combine(DataDirectory, "fargate", "lab.json");
        if (!File.Exists(identity))
        {
            return;
        }

        var lab = JsonNode.Parse(await File.ReadAllTextAsync(identity))!;
        var id = (string)lab["id"]!;
        var net = ((int)lab["net"]!).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var labDirectory = Path.Combine(DataDirectory, "fargate", "lab");
        if (Directory.Exists(labDirectory) || File.Exists($"/var/run/netns/berth-lab-{id}-sw"))
        {
            await ProcessRunner.RunAsync("bash", [Path.Combine(PlatformProcesses.RepositoryRoot(), "lab", "down.sh")], TimeSpan.FromSeconds(180),
                environment: new Dictionary<string, string> { ["LAB_ID"] = id, ["LAB_NET"] = net, ["LAB_DIR"] = labDirectory });
        }
    }
}
