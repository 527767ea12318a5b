using Berth.Cli.Common;
using Grpc.Core;

namespace Berth.Cli.Tests.Common;

public sealed class ErrorMessagesTests
{
    private static readonly Uri s_endpoint = new("http://127.0.0.1:7070");

    [Theory]
    [InlineData(StatusCode.Unavailable, "berth up")]
    [InlineData(StatusCode.Unauthenticated, "berth login")]
    [InlineData(StatusCode.PermissionDenied, "admin API token")]
    [InlineData(StatusCode.Unimplemented, "upgrade it")]
    [InlineData(StatusCode.ResourceExhausted, "Retry later")]
    public void ForScheduler_SaysWhatToDo(StatusCode code, string advice)
    {
        var message = ErrorMessages.ForScheduler(new RpcException(new Status(code, "the detail")), s_endpoint);

        Assert.Contains(advice, message, StringComparison.Ordinal);
        Assert.Contains("the detail", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { "service", "describe" }, "`berth service list` shows what exists")]
    [InlineData(new[] { "task", "stop" }, "`berth task list (--stopped for stopped tasks)` shows what exists")]
    [InlineData(new[] { "logs" }, "`berth task list")]
    [InlineData(new[] { "taskdef", "describe" }, "`berth taskdef list`")]
    [InlineData(new[] { "instance", "drain" }, "`berth instance list`")]
    [InlineData(new[] { "cluster", "describe" }, "`berth cluster list`")]
    public void ForScheduler_NotFound_NamesTheListCommandOfTheNoun(string[] command, string hint)
    {
        var message = ErrorMessages.ForScheduler(new RpcException(new Status(StatusCode.NotFound, "Service 'web' not found.")), s_endpoint, ErrorMessages.ListCommandFor(command));

        Assert.Contains(hint, message, StringComparison.Ordinal);
        Assert.DoesNotContain("matching", message, StringComparison.Ordinal);
    }

    [Fact]
    public void ForRegistry_NotFound_OfARobot_PointsAtTheRobots_NotTheRepositories()
    {
        var message = ErrorMessages.ForRegistry(404, "NOT_FOUND: robot 'ci' not found", new Uri("http://127.0.0.1:5000"), ErrorMessages.RegistryAdminListHint(["registry", "robots", "delete"]));

        Assert.Contains("`berth registry robots list`", message, StringComparison.Ordinal);
        Assert.DoesNotContain("registry repos", message, StringComparison.Ordinal);
        Assert.Contains("`berth registry public list`", ErrorMessages.RegistryAdminListHint(["registry", "public", "remove"]), StringComparison.Ordinal);
    }

    [Fact]
    public void ForScheduler_InvalidArgument_KeepsTheFieldTheSchedulerNamed()
    {
        var message = ErrorMessages.ForScheduler(
            new RpcException(new Status(StatusCode.InvalidArgument, "containerDefinitions[0].memory: must be positive")), s_endpoint);

        Assert.Equal("invalid request: containerDefinitions[0].memory: must be positive.", message);
    }

    [Theory]
    [InlineData(401, "berth login")]
    [InlineData(403, "berth registry grant")]
    [InlineData(404, "berth registry repos")]
    [InlineData(429, "retry")]
    public void ForRegistry_SaysWhatToDo(int status, string advice) =>
        Assert.Contains(advice, ErrorMessages.ForRegistry(status, "UNAUTHORIZED: x", new Uri("http://127.0.0.1:5000")), StringComparison.Ordinal);

    [Fact]
    public void ForRegistry_401Denied_IsAMissingPermission_NotBadCredentials()
    {
        var message = ErrorMessages.ForRegistry(401, "DENIED: requested access to the resource is denied", new Uri("http://127.0.0.1:5000"));

        Assert.Contains("berth registry grant", message, StringComparison.Ordinal);
        Assert.DoesNotContain("berth login", message, StringComparison.Ordinal);
    }
}
