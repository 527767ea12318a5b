using Berth.Core.Networking;

namespace Berth.Core.Tests.Networking;

public class AuthChallengeTests
{
    [Fact]
    public void TheDockerTokenChallenge_KeepsTheCommaInsideTheQuotedScope()
    {
        Assert.True(AuthChallenge.TryParse(
            "Bearer realm=\"http://127.0.0.1:5000/auth/token\",service=\"berth-registry\",scope=\"repository:a/b:pull,push\"",
            out var challenges));

        var bearer = Assert.Single(challenges);
        Assert.True(bearer.IsScheme("bearer"));
        Assert.Equal("http://127.0.0.1:5000/auth/token", bearer.Parameters["realm"]);
        Assert.Equal("berth-registry", bearer.Parameters["service"]);
        Assert.Equal("repository:a/b:pull,push", bearer.Parameters["scope"]);
        Assert.Equal(3, bearer.Parameters.Count);
    }

    [Fact]
    public void QuotedPairs_AreUnescaped()
    {
        Assert.True(AuthChallenge.TryParseParameters("realm=\"say \\\"hi\\\" \\\\ there\", error=\"a,b\"", out var values));

        Assert.Equal("say \"hi\" \\ there", values["realm"]);
        Assert.Equal("a,b", values["error"]);
    }

    [Fact]
    public void Tokens_SpacesAroundTheEquals_AndEmptyListElements_AreAccepted()
    {
        Assert.True(AuthChallenge.TryParseParameters(" , realm = \"https://auth.example/token\" ,, service=registry.example,", out var values));

        Assert.Equal("https://auth.example/token", values["realm"]);
        Assert.Equal("registry.example", values["service"]);
        Assert.Equal(2, values.Count);
    }

    [Fact]
    public void SchemeAndParameterNames_AreCaseInsensitive()
    {
        Assert.True(AuthChallenge.TryParse("BEARER Realm=\"https://a/token\",SERVICE=reg", out var challenges));

        var challenge = Assert.Single(challenges);
        Assert.True(challenge.IsScheme("Bearer"));
        Assert.Equal("https://a/token", challenge.Parameters["realm"]);
        Assert.Equal("reg", challenge.Parameters["service"]);
    }

    [Fact]
    public void SeveralChallenges_InOneHeader_AreSplitAtTheSchemes()
    {
        Assert.True(AuthChallenge.TryParse(
            "Basic realm=\"registry, with a comma\", Negotiate, Bearer realm=\"https://a/token\",scope=\"repository:x:pull\", Custom abc+/9==",
            out var challenges));

        Assert.Equal(["Basic", "Negotiate", "Bearer", "Custom"], challenges.Select(c => c.Scheme));
        Assert.Equal("registry, with a comma", challenges[0].Parameters["realm"]);
        Assert.Empty(challenges[1].Parameters);
        Assert.Null(challenges[1].Token68);
        Assert.Equal("repository:x:pull", challenges[2].Parameters["scope"]);
        Assert.Equal("abc+/9==", challenges[3].Token68);
        Assert.Empty(challenges[3].Parameters);
    }

    [Theory]
    [InlineData("realm=\"unterminated")]
    [InlineData("realm=\"ends in a backslash\\")]
    [InlineData("realm=")]
    [InlineData("=value")]
    [InlineData("realm=a b")]
    [InlineData("realm=https://unquoted/has/slashes")]
    [InlineData("realm=a, realm=b")]
    [InlineData("realm=\"a\" service=b")]
    [InlineData("realm=\"a\", Basic realm=b")]
    [InlineData("realm=\"control\u0001char\"")]
    [InlineData("")]
    [InlineData(null)]
    public void TryParseParameters_RefusesWhatIsNotAnAuthParamList(string? text) =>
        Assert.False(AuthChallenge.TryParseParameters(text, out _));

    [Theory]
    [InlineData("")]
    [InlineData(" , ")]
    [InlineData("\"Bearer\" realm=a")]
    [InlineData("Bearer realm=\"a")]
    [InlineData("Bearer realm=a service=b")]
    [InlineData(null)]
    public void TryParse_RefusesWhatIsNotAChallengeList(string? header) =>
        Assert.False(AuthChallenge.TryParse(header, out _));
}
