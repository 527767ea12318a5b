using Berth.Registry.Repositories;

namespace Berth.Registry.Tests.Repositories;

public sealed class WildcardFilterTests
{
    [Theory]
    [InlineData("latest", "latest", true)]
    [InlineData("latest", "latest2", false)]
    [InlineData("dev-*", "dev-", true)]
    [InlineData("dev-*", "dev-42", true)]
    [InlineData("dev-*", "prod-42", false)]
    [InlineData("*-rc", "1.2-rc", true)]
    [InlineData("*-rc", "1.2-rc1", false)]
    [InlineData("v*.*-*", "v1.2-beta", true)]
    [InlineData("v*.*-*", "v12-beta", false)]
    [InlineData("*", "anything", true)]
    [InlineData("a*a*a", "aaa", true)]
    [InlineData("a*a*a", "aa", false)]
    public void Matches_AsEcrWildcards(string filter, string tag, bool expected) =>
        Assert.Equal(expected, WildcardFilter.Matches(filter, tag));

    [Theory]
    [InlineData("dev-*", true)]
    [InlineData("release_1.0", true)]
    [InlineData("", false)]
    [InlineData("a/b", false)]
    [InlineData("sp ace", false)]
    [InlineData("?", false)]
    public void IsValid_FollowsEcrsPattern(string filter, bool expected) =>
        Assert.Equal(expected, WildcardFilter.IsValid(filter));

    [Fact]
    public void IsValid_RefusesMoreThan128Characters() =>
        Assert.False(WildcardFilter.IsValid(new string('a', 129)));

    [Fact]
    public void Settings_ImmutableWithExclusion_KeepsOnlyTheExcludedTagsMutable()
    {
        var settings = new RepositorySettings(TagMutability.ImmutableWithExclusion, ["latest", "dev-*"], null);

        Assert.False(settings.IsImmutable("latest"));
        Assert.False(settings.IsImmutable("dev-7"));
        Assert.True(settings.IsImmutable("1.0.0"));
        Assert.Null(settings.Problem());
        Assert.NotNull((settings with { Exclusions = [] }).Problem());
        Assert.NotNull(new RepositorySettings(TagMutability.Immutable, ["latest"], null).Problem());
    }
}
