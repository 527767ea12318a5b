using Berth.TestSupport;

namespace Berth.Cli.Tests;

/// <summary>The CLI is a client: it must start on the plain .NET runtime, without ASP.NET Core.</summary>
public sealed class PlainRuntimeTests
{
    [Fact]
    public void Cli_AsksForTheNetCoreRuntimeOnly()
    {
        Assert.Equal(["Microsoft.NETCore.App"], BuildOutput.Frameworks("berth"));
    }

    [Fact]
    public void Cli_CarriesNoAspNetCorePackage()
    {
        Assert.DoesNotContain(BuildOutput.Packages("berth"), p => p.Contains("AspNetCore", StringComparison.OrdinalIgnoreCase));
    }
}
