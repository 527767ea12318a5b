using Berth.Scheduler.Security;

namespace Berth.Scheduler.Tests.Security;

public sealed class HostJoinTokensTests
{
    [Fact]
    public void Redeem_WorksOnceForItsOwnCluster_NeverForAnother()
    {
        var tokens = new HostJoinTokens();
        var token = tokens.Issue("blue", "web-1");

        Assert.Null(tokens.Redeem(token, "green", out var issuedFor));
        Assert.Equal("blue", issuedFor);
        Assert.True(tokens.IsValid(token));
        Assert.Equal("web-1", tokens.Redeem(token, "blue", out _));
        Assert.Null(tokens.Redeem(token, "blue", out issuedFor));
        Assert.Null(issuedFor);
        Assert.False(tokens.IsValid(token));
        Assert.Equal(0, tokens.Outstanding);
    }

    [Fact]
    public void Void_AndReissue_EndTheHostsEarlierToken_AndLeaveOthersAlone()
    {
        var tokens = new HostJoinTokens();
        var first = tokens.Issue("blue", "web-1");
        var other = tokens.Issue("blue", "web-2");

        var second = tokens.Issue("blue", "web-1");

        Assert.False(tokens.IsValid(first));
        Assert.True(tokens.IsValid(second));
        tokens.Void("web-1");
        Assert.Null(tokens.Redeem(second, "blue", out _));
        Assert.Equal("web-2", tokens.Redeem(other, "blue", out _));
        Assert.Null(tokens.Redeem("berth_join_not-one-of-these", "blue", out _));
    }
}
