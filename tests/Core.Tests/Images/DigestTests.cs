using System.Text;
using Berth.Core.Images;

namespace Berth.Core.Tests.Images;

public sealed class DigestTests
{
    [Theory]
    [InlineData("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")]
    [InlineData("sha512:cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e")]
    public void TryParse_CanonicalDigest_RoundTrips(string value)
    {
        Assert.True(Digest.TryParse(value, out var digest));
        Assert.Equal(value, digest.ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("sha256")]
    [InlineData("sha256:")]
    [InlineData(":e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")]
    [InlineData("sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855")]
    [InlineData("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85")]
    [InlineData("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8555")]
    [InlineData("md5:d41d8cd98f00b204e9800998ecf8427e")]
    [InlineData("sha256:../../../../etc/passwd000000000000000000000000000000000000000")]
    [InlineData("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85\0")]
    public void TryParse_MalformedDigest_IsRejected(string value)
    {
        Assert.False(Digest.TryParse(value, out _));
        Assert.Throws<FormatException>(() => Digest.Parse(value));
    }

    [Fact]
    public void Compute_MatchesKnownVectors()
    {
        Assert.Equal("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", Digest.Compute([]).ToString());
        Assert.Equal(
            "sha512:ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
            Digest.Compute(Encoding.ASCII.GetBytes("abc"), Digest.Sha512).ToString());
    }
}

public sealed class DigestSpanTests
{
    [Theory]
    [InlineData("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", true)]
    [InlineData("sha512:cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e", true)]
    [InlineData("sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855", false)]
    [InlineData("sha512:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", false)]
    [InlineData("sha256", false)]
    [InlineData("", false)]
    public void IsValid_AgreesWithTryParse(string value, bool valid)
    {
        Assert.Equal(valid, Digest.IsValid(value.AsSpan()));
        Assert.Equal(valid, Digest.TryParse(value, out _));
    }

    [Theory]
    [InlineData("latest", true)]
    [InlineData("-x", false)]
    [InlineData("", false)]
    public void TagName_SpanOverload_AgreesWithString(string tag, bool valid)
    {
        Assert.Equal(valid, TagName.IsValid(tag.AsSpan()));
        Assert.Equal(valid, TagName.IsValid(tag));
    }
}
