using Berth.Core.Networking;

namespace Berth.Core.Tests.Networking;

public class Ipv4CidrTests
{
    [Theory]
    [InlineData("10.240.3.7/24", "10.240.3.0/24")]
    [InlineData("10.0.0.0/8", "10.0.0.0/8")]
    [InlineData("0.0.0.0/0", "0.0.0.0/0")]
    [InlineData("192.168.1.9/32", "192.168.1.9/32")]
    public void Parse_ClearsHostBits(string text, string expected) => Assert.Equal(expected, Ipv4Cidr.Parse(text).ToString());

    [Theory]
    [InlineData("10.240.3.0")]
    [InlineData("10/8")]
    [InlineData("10.0.0.0/33")]
    [InlineData("10.0.0.0/-1")]
    [InlineData("10.0.0.0/x")]
    [InlineData("::1/128")]
    [InlineData("")]
    [InlineData(null)]
    public void TryParse_RefusesWhatIsNotANetwork(string? text) => Assert.False(Ipv4Cidr.TryParse(text, out _));

    [Fact]
    public void ABareAddress_IsAHost_OnlyWhenAskedFor()
    {
        Assert.False(Ipv4Cidr.TryParse("10.0.0.12", out _));
        Assert.True(Ipv4Cidr.TryParse("10.0.0.12", out var host, bareAddressIsHost: true));
        Assert.Equal("10.0.0.12/32", host.Value.ToString());
        Assert.False(Ipv4Cidr.TryParse("10", out _, bareAddressIsHost: true));
    }

    [Fact]
    public void Subnets_Containment_AndTheGateway()
    {
        var pool = Ipv4Cidr.Parse("10.240.0.0/12");
        Assert.Equal(4096, pool.SubnetCount(24));
        Assert.Equal("10.240.5.0/24", pool.Subnet(24, 5).ToString());
        Assert.True(pool.Contains(pool.Subnet(24, 4095)));
        Assert.False(pool.Contains(Ipv4Cidr.Parse("10.0.0.0/8")));
        Assert.True(pool.Overlaps(Ipv4Cidr.Parse("10.0.0.0/8")));
        Assert.Equal("10.240.5.1/24", pool.Subnet(24, 5).GatewayWithPrefix);
        Assert.True(pool.Subnet(24, 5).Contains(System.Net.IPAddress.Parse("10.240.5.200")));
    }
}
