using Berth.Cli.Common;
using Xunit.Abstractions;

namespace Berth.Cli.Tests;

/// <summary>The command tree itself: usage errors, help, and the unreachable-endpoint sentence (nothing listens).</summary>
public sealed class CommandLineTests(ITestOutputHelper output) : IDisposable
{
    private readonly CliRunner _cli = new(output);

    [Theory]
    [InlineData("cluster", "frobnicate")]
    [InlineData("task", "run")]
    [InlineData("-o", "yaml", "cluster", "list")]
    [InlineData("task", "run", "--taskdef", "web", "--count", "many")]
    public async Task UsageErrors_ExitWithTwoAndSayWhy(params string[] args)
    {
        var result = await _cli.RunAsync(args);

        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.StartsWith("error: ", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BadStrategy_IsAUsageErrorBeforeAnyCall()
    {
        var result = await _cli.RunAsync("--endpoint", "http://127.0.0.1:1", "task", "run", "--taskdef", "web", "--strategy", "pack:memory");

        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.Contains("binpack, spread or random", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_ListsEveryNoun()
    {
        var result = await _cli.RunAsync("--help");

        foreach (var noun in new[] { "up", "login", "cluster", "taskdef", "task", "service", "instance", "lb", "targetgroup", "logs", "registry" })
        {
            Assert.Contains($"  {noun} ", result.Output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task NothingListening_SaysHowToStartAPlatform()
    {
        var port = PlatformProcesses.FreePort();

        var result = await _cli.RunAsync("--endpoint", $"127.0.0.1:{port}", "cluster", "list");

        Assert.Equal(ExitCodes.Failure, result.ExitCode);
        Assert.Contains($"cannot reach the scheduler at http://127.0.0.1:{port}/", result.Error, StringComparison.Ordinal);
        Assert.Contains("berth up", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RegistryNotListening_SaysSo()
    {
        var port = PlatformProcesses.FreePort();

        var result = await _cli.RunAsync("--registry", $"http://127.0.0.1:{port}", "registry", "repos");

        Assert.Equal(ExitCodes.Failure, result.ExitCode);
        Assert.Contains("cannot reach the registry", result.Error, StringComparison.Ordinal);
    }

    public void Dispose() => _cli.Dispose();
}
