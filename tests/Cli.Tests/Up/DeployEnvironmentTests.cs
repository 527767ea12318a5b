using Berth.Cli.Up;
using Berth.TestSupport;

namespace Berth.Cli.Tests.Up;

/// <summary>
/// The process environments that <c>berth up</c> sets for the registry and the balancer: deploy/registry.env and
/// deploy/loadbalancer.env, embedded in the CLI.
/// </summary>
public sealed class DeployEnvironmentTests
{
    private static Dictionary<string, string> RepositoryFile(string file) =>
        DeployEnvironment.Parse(File.ReadAllText(Path.Combine(LabHosts.RepositoryRoot(), "deploy", file)), file)
            .ToDictionary(pair => pair.Key, pair => pair.Value);

    [Theory]
    [InlineData(DeployEnvironment.Registry, "DOTNET_GCgen0size")]
    [InlineData(DeployEnvironment.LoadBalancer, "DOTNET_GCGen0MaxBudget")]
    public void Resolve_GivesTheProcessEverySettingOfTheRepositorysFile(string file, string memorySetting)
    {
        var settings = DeployEnvironment.Resolve(file, _ => null);

        Assert.Equal(RepositoryFile(file), settings);
        // Settings the runtime and glibc read only from the environment (docs/registry.md, docs/load-balancer.md).
        Assert.Contains(memorySetting, settings.Keys);
        Assert.Contains("MALLOC_ARENA_MAX", settings.Keys);
    }

    /// <summary>
    /// <c>dotnet run --project src/Registry</c> (or src/LoadBalancer: the README's way to start one alone) applies the
    /// launch profile's variables: they must be the same settings, or a process started that way peaks higher.
    /// </summary>
    [Theory]
    [InlineData(DeployEnvironment.Registry, "Registry")]
    [InlineData(DeployEnvironment.LoadBalancer, "LoadBalancer")]
    public void TheLaunchProfile_SetsTheSameEnvironment(string file, string project)
    {
        var path = Path.Combine(LabHosts.RepositoryRoot(), "src", project, "Properties", "launchSettings.json");
        using var document = System.Text.Json.JsonDocument.Parse(File.ReadAllText(path));
        var profiles = document.RootElement.GetProperty("profiles").EnumerateObject().ToList();
        var profile = Assert.Single(profiles).Value;

        Assert.Equal("Project", profile.GetProperty("commandName").GetString());
        var variables = profile.GetProperty("environmentVariables").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);
        Assert.Equal(RepositoryFile(file).OrderBy(p => p.Key), variables.OrderBy(p => p.Key));
    }

    [Fact]
    public void Resolve_AVariableSetForTheCliWins()
    {
        var settings = DeployEnvironment.Resolve(DeployEnvironment.Registry, name => name == "MALLOC_ARENA_MAX" ? "4" : null);

        Assert.Equal("4", settings["MALLOC_ARENA_MAX"]);
        Assert.Equal(RepositoryFile(DeployEnvironment.Registry)["DOTNET_GCgen0size"], settings["DOTNET_GCgen0size"]);
    }

    [Fact]
    public void Parse_SkipsCommentsAndBlankLines_AndRejectsALineWithoutEquals()
    {
        Assert.Equal([new("A", "1"), new("B", "x=y")], DeployEnvironment.Parse("# comment\n\nA=1\r\nB=x=y\n", "x.env").ToList());
        var error = Assert.Throws<InvalidDataException>(() => DeployEnvironment.Parse("JUSTAWORD\n", "x.env").ToList());
        Assert.Contains("deploy/x.env: 'JUSTAWORD'", error.Message, StringComparison.Ordinal);
    }
}
