using System.Text.Json.Nodes;
using Berth.Cli.Common;
using Xunit.Abstractions;

namespace Berth.Cli.Tests;

/// <summary>What one CLI invocation printed and returned.</summary>
public sealed record CliResult(int ExitCode, string Output, string Error)
{
    public JsonNode Json => JsonNode.Parse(Output) ?? throw new InvalidOperationException("no JSON output");

    public CliResult EnsureSuccess()
    {
        Assert.True(ExitCode == 0, $"exit {ExitCode}\nstdout:\n{Output}\nstderr:\n{Error}");
        return this;
    }
}

/// <summary>
/// Runs the real command tree in-process with its own home directory (never the real <c>~/.berth</c>) and its own
/// environment variables; every call goes over real sockets to whatever the test started.
/// </summary>
public sealed class CliRunner(ITestOutputHelper output, string? home = null) : IDisposable
{
    private readonly DirectoryInfo? _ownHome = home is null ? Directory.CreateTempSubdirectory("berth-cli-home-") : null;

    /// <summary>The CLI's home (<c>~/.berth</c>): a fresh temporary one, or the one given (e.g. the one `berth up` logged in).</summary>
    public string Home => home ?? _ownHome!.FullName;

    public Dictionary<string, string> Variables { get; } = [];

    public async Task<CliResult> RunAsync(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var environment = new CliEnvironment(Home, name => Variables.GetValueOrDefault(name));
        var code = await BerthCli.RunAsync(args, environment, stdout, stderr).WaitAsync(TimeSpan.FromMinutes(8));
        var result = new CliResult(code, stdout.ToString(), stderr.ToString());
        output.WriteLine($"$ berth {string.Join(' ', args)}  -> {code}\n{result.Output}{result.Error}");
        return result;
    }

    public void Dispose() => _ownHome?.Delete(recursive: true);
}
