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
    [InlineData(StatusCode.NotFound, "`list` command")]
    [InlineData(StatusCode.Unimplemented, "upgrade it")]
    [InlineData(StatusCode.ResourceExhausted, "Retry later")]
    public void ForScheduler_SaysWhatToDo(StatusCode code, string advice)
    {
        var message = ErrorMessages.ForScheduler(new RpcException(new Status(code, "the detail")), s_endpoint);

        Assert.Contains(advice, message, StringComparison.Ordinal);
        Assert.Contains("the detail", message, StringComparison.Ordinal);
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
