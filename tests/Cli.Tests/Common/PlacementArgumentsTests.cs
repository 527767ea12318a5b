using Berth.Cli.Common;

namespace Berth.Cli.Tests.Common;

public sealed class PlacementArgumentsTests
{
    [Theory]
    [InlineData("spread:attribute:berth.zone", "spread", "attribute:berth.zone")]
    [InlineData("spread(attribute:berth.zone)", "spread", "attribute:berth.zone")]
    [InlineData("binpack:memory", "binpack", "memory")]
    [InlineData("BinPack(cpu)", "binpack", "cpu")]
    [InlineData("spread:instanceId", "spread", "instanceId")]
    [InlineData("random", "random", "")]
    public void ParseStrategy_BothSpellings_GiveTheEcsStrategy(string text, string type, string field)
    {
        var strategy = PlacementArguments.ParseStrategy(text);

        Assert.Equal(type, strategy.Type);
        Assert.Equal(field, strategy.Field);
    }

    [Theory]
    [InlineData("pack:memory", "binpack, spread or random")]
    [InlineData("binpack", "needs a field")]
    [InlineData("random:cpu", "takes no field")]
    public void ParseStrategy_Nonsense_IsAUsageErrorThatSaysWhy(string text, string expected)
    {
        var error = Assert.Throws<CliException>(() => PlacementArguments.ParseStrategy(text));

        Assert.Equal(ExitCodes.Usage, error.ExitCode);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ParseConstraint_MemberOfKeepsTheWholeExpression()
    {
        var colon = PlacementArguments.ParseConstraint("memberOf:attribute:berth.zone in [a, b]");
        var parens = PlacementArguments.ParseConstraint("memberOf(attribute:berth.zone in [a, b])");

        Assert.Equal(("memberOf", "attribute:berth.zone in [a, b]"), (colon.Type, colon.Expression));
        Assert.Equal(("memberOf", "attribute:berth.zone in [a, b]"), (parens.Type, parens.Expression));
        Assert.Equal("distinctInstance", PlacementArguments.ParseConstraint("distinctInstance").Type);
    }

    [Theory]
    [InlineData("memberOf")]
    [InlineData("distinctInstance:x")]
    [InlineData("sameHost")]
    public void ParseConstraint_Nonsense_IsAUsageError(string text) =>
        Assert.Equal(ExitCodes.Usage, Assert.Throws<CliException>(() => PlacementArguments.ParseConstraint(text)).ExitCode);

    [Theory]
    [InlineData("90s", 90)]
    [InlineData("10m", 600)]
    [InlineData("1h", 3600)]
    [InlineData("00:01:30", 90)]
    public void Durations_AcceptShortAndTimeSpanForms(string text, int seconds)
    {
        Assert.True(Durations.TryParse(text, out var value));
        Assert.Equal(TimeSpan.FromSeconds(seconds), value);
    }

    [Theory]
    [InlineData("soon")]
    [InlineData("-5s")]
    [InlineData("5d")]
    public void Durations_RejectNonsense(string text) => Assert.False(Durations.TryParse(text, out _));
}
