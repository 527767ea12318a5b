using Berth.Cli.Common;
using Xunit.Abstractions;
using Berth.TestSupport;

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

        foreach (var noun in new[] { "up", "login", "cluster", "taskdef", "task", "service", "instance", "lb", "targetgroup", "certificate", "securitygroup", "logs", "registry" })
        {
            Assert.Contains($"  {noun} ", result.Output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task NothingListening_SaysHowToStartAPlatform()
    {
        var port = TestPorts.Next();

        var result = await _cli.RunAsync("--endpoint", $"127.0.0.1:{port}", "cluster", "list");

        Assert.Equal(ExitCodes.Failure, result.ExitCode);
        Assert.Contains($"cannot reach the scheduler at http://127.0.0.1:{port}/", result.Error, StringComparison.Ordinal);
        Assert.Contains("berth up", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RegistryNotListening_SaysSo()
    {
        var port = TestPorts.Next();

        var result = await _cli.RunAsync("--registry", $"http://127.0.0.1:{port}", "registry", "repos");

        Assert.Equal(ExitCodes.Failure, result.ExitCode);
        Assert.Contains("cannot reach the registry", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_ShowsDefaultsAsTheUserWritesThem()
    {
        var run = await _cli.RunAsync("task", "run", "--help");
        var logs = await _cli.RunAsync("logs", "--help");

        Assert.Contains("[default: table]", run.Output, StringComparison.Ordinal);
        Assert.Contains("[default: 10m]", run.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("[default: Table]", run.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("00:10:00", run.Output, StringComparison.Ordinal);
        Assert.Contains("[default: all]", logs.Output, StringComparison.Ordinal);
        Assert.Contains("--since", logs.Output, StringComparison.Ordinal);
        Assert.Contains("--timestamps", logs.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("logs", "abc", "--tail", "-1")]
    [InlineData("logs", "abc", "--tail", "some")]
    [InlineData("logs", "abc", "--since", "yesterday-ish")]
    [InlineData("task", "exec", "abc")]
    public async Task LogsAndExecArguments_AreCheckedBeforeAnyCall(params string[] args)
    {
        var result = await _cli.RunAsync(["--endpoint", "http://127.0.0.1:1", .. args]);

        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.StartsWith("error: ", result.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("create", "--health-check-grace-period", "-1")]
    [InlineData("create", "--health-check-grace-period", "2147483648")]
    [InlineData("update", "--health-check-grace-period-seconds", "soon")]
    public async Task ServiceHealthCheckGracePeriod_OutsideEcssRange_IsAUsageErrorBeforeAnyCall(string verb, string option, string seconds)
    {
        var result = await _cli.RunAsync("--endpoint", "http://127.0.0.1:1", "service", verb, "-s", "web", "-t", "web", option, seconds);

        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.Contains($"--health-check-grace-period must be a number of seconds, 0-2147483647, not '{seconds}'.", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Since_TakesADurationBackFromNow_OrATime()
    {
        var now = DateTimeOffset.Parse("2026-12-03T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture);

        Assert.Equal(now.AddMinutes(-10), Logs.LogsCommand.ParseSince("10m", now));
        Assert.Equal(now.AddSeconds(-90), Logs.LogsCommand.ParseSince("90s", now));
        Assert.Equal(DateTimeOffset.Parse("2026-12-03T09:30:00Z", System.Globalization.CultureInfo.InvariantCulture), Logs.LogsCommand.ParseSince("2026-12-03T09:30:00Z", now));
        Assert.Null(Logs.LogsCommand.ParseSince("soon", now));
    }

    [Theory]
    [InlineData(600, "10m")]
    [InlineData(90, "90s")]
    [InlineData(7200, "2h")]
    public void Durations_PrintAsWritten(int seconds, string text) => Assert.Equal(text, Durations.Format(TimeSpan.FromSeconds(seconds)));

    [Fact]
    public async Task Login_WithAnEmptyTokenFile_SaysTheFileIsEmpty()
    {
        var file = Path.Combine(_cli.Home, "empty-token");
        await File.WriteAllTextAsync(file, "\n");

        var result = await _cli.RunAsync("--endpoint", "http://127.0.0.1:1", "login", "--token-file", file);

        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.Contains("the token file is empty", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StatusAndDown_OfADataDirectoryWithNothingRunning_SaySo()
    {
        var data = Path.Combine(_cli.Home, "data");

        var status = await _cli.RunAsync("status", "--data-dir", data);
        var down = await _cli.RunAsync("down", "--data-dir", data);

        Assert.Equal(ExitCodes.Failure, status.ExitCode);
        Assert.Contains("not running", status.Output, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.Success, down.ExitCode);
        Assert.Contains("No platform is running", down.Output, StringComparison.Ordinal);
    }

    public void Dispose() => _cli.Dispose();
}
