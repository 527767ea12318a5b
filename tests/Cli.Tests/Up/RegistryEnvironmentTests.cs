using Berth.Cli.Up;
using Berth.TestSupport;

namespace Berth.Cli.Tests.Up;

/// <summary>The registry's process environment that <c>berth up</c> sets: deploy/registry.env, embedded in the CLI.</summary>
public sealed class RegistryEnvironmentTests
{
    private static Dictionary<string, string> RepositoryFile() =>
        RegistryEnvironment.Parse(File.ReadAllText(Path.Combine(LabHosts.RepositoryRoot(), "deploy", "registry.env")))
            .ToDictionary(pair => pair.Key, pair => pair.Value);

    [Fact]
    public void Resolve_GivesTheRegistryEverySettingOfTheRepositorysFile()
    {
        var settings = RegistryEnvironment.Resolve(_ => null);

        Assert.Equal(RepositoryFile(), settings);
        // The two memory settings the runtime and glibc read only from the environment (docs/registry.md).
        Assert.Contains("DOTNET_GCgen0size", settings.Keys);
        Assert.Contains("MALLOC_ARENA_MAX", settings.Keys);
    }

    /// <summary>
    /// <c>dotnet run --project src/Registry</c> (the README's way to start the registry alone) applies the launch
    /// profile's variables: the same settings, or a registry started that way peaks ~20 MiB higher.
    /// </summary>
    [Fact]
    public void TheRegistrysLaunchProfile_SetsTheSameEnvironment()
    {
        var path = Path.Combine(LabHosts.RepositoryRoot(), "src", "Registry", "Properties", "launchSettings.json");
        using var document = System.Text.Json.JsonDocument.Parse(File.ReadAllText(path));
        var profiles = document.RootElement.GetProperty("profiles").EnumerateObject().ToList();
        var profile = Assert.Single(profiles).Value;

        Assert.Equal("Project", profile.GetProperty("commandName").GetString());
        var variables = profile.GetProperty("environmentVariables").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);
        Assert.Equal(RepositoryFile().OrderBy(p => p.Key), variables.OrderBy(p => p.Key));
    }

    [Fact]
    public void Resolve_AVariableSetForTheCliWins()
    {
        var settings = RegistryEnvironment.Resolve(name => name == "MALLOC_ARENA_MAX" ? "4" : null);

        Assert.Equal("4", settings["MALLOC_ARENA_MAX"]);
        Assert.Equal(RepositoryFile()["DOTNET_GCgen0size"], settings["DOTNET_GCgen0size"]);
    }

    [Fact]
    public void Parse_SkipsCommentsAndBlankLines_AndRejectsALineWithoutEquals()
    {
        Assert.Equal([new("A", "1"), new("B", "x=y")], RegistryEnvironment.Parse("# comment\n\nA=1\r\nB=x=y\n").ToList());
        var error = Assert.Throws<InvalidDataException>(() => RegistryEnvironment.Parse("JUSTAWORD\n").ToList());
        Assert.Contains("JUSTAWORD", error.Message, StringComparison.Ordinal);
    }
}
