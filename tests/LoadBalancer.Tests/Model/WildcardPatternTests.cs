using Berth.LoadBalancer.Model;

namespace Berth.LoadBalancer.Tests.Model;

public sealed class WildcardPatternTests
{
    [Theory]
    [InlineData("/api/*", "/api/", true)]
    [InlineData("/api/*", "/api/users/1", true)]
    [InlineData("/api/*", "/api", false)]
    [InlineData("/img/*.png", "/img/a/b.png", true)]
    [InlineData("/img/*.png", "/img/a.png.gif", false)]
    [InlineData("/v?/x", "/v1/x", true)]
    [InlineData("/v?/x", "/v12/x", false)]
    [InlineData("*", "", true)]
    [InlineData("/a*b*c", "/aXbYbZc", true)]
    [InlineData("/a*b*c", "/aXbYbZ", false)]
    [InlineData("/API", "/api", false)]
    public void Path_IsCaseSensitive_WithStarAndQuestionMark(string pattern, string text, bool expected) =>
        Assert.Equal(expected, new WildcardPattern(pattern, ignoreCase: false).IsMatch(text));

    [Theory]
    [InlineData("*.example.com", "www.EXAMPLE.com", true)]
    [InlineData("*.example.com", "example.com", false)]
    [InlineData("example.com", "EXAMPLE.COM", true)]
    [InlineData("a?c.example.com", "abc.example.com", true)]
    public void Host_IsCaseInsensitive(string pattern, string text, bool expected) =>
        Assert.Equal(expected, new WildcardPattern(pattern, ignoreCase: true).IsMatch(text));
}
