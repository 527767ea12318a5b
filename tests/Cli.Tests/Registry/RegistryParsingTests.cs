using Berth.Cli.Common;
using Berth.Cli.Registry;
using Berth.Core.Networking;

namespace Berth.Cli.Tests.Registry;

public sealed class RegistryParsingTests
{
    [Theory]
    [InlineData("team-a/app:1", "team-a/app", "1")]
    [InlineData("team-a/app@sha256:abc", "team-a/app", "sha256:abc")]
    [InlineData("a/b/c:v1.2", "a/b/c", "v1.2")]
    public void SplitReference_TagsAndDigests(string text, string repository, string reference) =>
        Assert.Equal((repository, reference), RegistryCommands.SplitReference(text));

    [Fact]
    public void SplitReference_WithoutTagOrDigest_IsAUsageError() =>
        Assert.Equal(ExitCodes.Usage, Assert.Throws<CliException>(() => RegistryCommands.SplitReference("team-a/app")).ExitCode);

    [Fact]
    public void ParsePermission_PatternAndActions()
    {
        var permission = RegistryCommands.ParsePermission("team-a/*=pull,push");

        Assert.Equal("team-a/*", permission.Pattern);
        Assert.Equal(["pull", "push"], permission.Actions!);
        Assert.Empty(RegistryCommands.ParsePermission("team-a/*=").Actions!);
    }

    [Fact]
    public void TheChallengeParser_ReadsTheDockerTokenChallenge()
    {
        // RegistryClient reads its Bearer challenges with Core's parser.
        Assert.True(AuthChallenge.TryParseParameters("realm=\"http://127.0.0.1:5000/auth/token\",service=\"berth-registry\",scope=\"repository:a/b:pull,push\"", out var values));

        Assert.Equal("http://127.0.0.1:5000/auth/token", values["realm"]);
        Assert.Equal("berth-registry", values["service"]);
        Assert.Equal("repository:a/b:pull,push", values["scope"]);
    }
}
