using Berth.Core.Images;

namespace Berth.Core.Tests.Images;

public sealed class RepositoryNameTests
{
    [Theory]
    [InlineData("busybox")]
    [InlineData("library/busybox")]
    [InlineData("team-a/web/frontend")]
    [InlineData("a.b_c__d---e")]
    [InlineData("0")]
    public void IsValid_SpecNames_Accepted(string name) => Assert.True(RepositoryName.IsValid(name));

    [Theory]
    [InlineData("")]
    [InlineData("Busybox")]
    [InlineData("..")]
    [InlineData("a/../b")]
    [InlineData("%2e%2e")]
    [InlineData("a//b")]
    [InlineData("/a")]
    [InlineData("a/")]
    [InlineData("a___b")]
    [InlineData("a..b")]
    [InlineData("-a")]
    [InlineData("a-")]
    [InlineData("a\0b")]
    [InlineData("a b")]
    public void IsValid_MalformedNames_Rejected(string name) => Assert.False(RepositoryName.IsValid(name));

    [Fact]
    public void IsValid_OverlongName_Rejected()
    {
        Assert.True(RepositoryName.IsValid(new string('a', RepositoryName.MaxLength)));
        Assert.False(RepositoryName.IsValid(new string('a', RepositoryName.MaxLength + 1)));
    }

    [Theory]
    [InlineData("latest", true)]
    [InlineData("_v1.2-rc", true)]
    [InlineData(".hidden", false)]
    [InlineData("-x", false)]
    [InlineData("a/b", false)]
    public void TagName_FollowsSpecGrammar(string tag, bool valid) => Assert.Equal(valid, TagName.IsValid(tag));
}
