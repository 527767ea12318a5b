using Berth.TestSupport;

namespace Berth.Agent.Tests.Hosting;

/// <summary>The agent is a daemon on every host: it must start on the plain .NET runtime, without ASP.NET Core.</summary>
public sealed class PlainRuntimeTests
{
    [Fact]
    public void Agent_AsksForTheNetCoreRuntimeOnly()
    {
        Assert.Equal(["Microsoft.NETCore.App"], BuildOutput.Frameworks("Berth.Agent"));
    }

    [Fact]
    public void Agent_CarriesNoAspNetCorePackage()
    {
        Assert.DoesNotContain(BuildOutput.Packages("Berth.Agent"), p => p.Contains("AspNetCore", StringComparison.OrdinalIgnoreCase));
    }
}
