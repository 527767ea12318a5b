using Berth.Cli.Common;
using Berth.Cli.Configuration;

namespace Berth.Cli.Tests.Configuration;

public sealed class CliSettingsTests
{
    private static CliEnvironment Environment(string home, Dictionary<string, string> variables) => new(home, n => variables.GetValueOrDefault(n));

    [Fact]
    public void Resolve_OptionBeatsEnvironmentBeatsConfigBeatsDefault()
    {
        var config = new CliConfig { Endpoint = "http://config:1", Registry = "http://config:2", Cluster = "from-config", Token = "config-token" };
        var variables = new Dictionary<string, string> { ["BERTH_ENDPOINT"] = "http://env:1", ["BERTH_TOKEN"] = "env-token" };

        var settings = CliSettings.Resolve(Environment("/nowhere", variables), config, endpointOption: "option:7", registryOption: null, clusterOption: null);

        Assert.Equal(new Uri("http://option:7"), settings.Endpoint);
        Assert.Equal("env-token", settings.Token);
        Assert.Equal(new Uri("http://config:2"), settings.Registry);
        Assert.Equal("from-config", settings.Cluster);
        var defaults = CliSettings.Resolve(Environment("/nowhere", []), new CliConfig(), null, null, null);
        Assert.Equal((new Uri(CliSettings.DefaultEndpoint), new Uri(CliSettings.DefaultRegistry), "default"), (defaults.Endpoint, defaults.Registry, defaults.Cluster));
    }

    [Fact]
    public void ParseUrl_RejectsWhatIsNotHttp() =>
        Assert.Equal(ExitCodes.Usage, Assert.Throws<CliException>(() => CliSettings.ParseUrl("ftp://x", "endpoint")).ExitCode);

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void Save_WritesTheFileOwnerOnly_AndLoadReadsItBack()
    {
        var home = Directory.CreateTempSubdirectory("berth-cli-config-");
        try
        {
            new CliConfig { Endpoint = "http://a:1", Token = "secret" }.Save(home.FullName);

            var mode = File.GetUnixFileMode(CliConfig.PathIn(home.FullName));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, mode);
            Assert.Equal("secret", CliConfig.Load(home.FullName).Token);
        }
        finally
        {
            home.Delete(recursive: true);
        }
    }

    [Fact]
    public void Load_BrokenJson_SaysHowToRecover()
    {
        var home = Directory.CreateTempSubdirectory("berth-cli-config-");
        try
        {
            File.WriteAllText(CliConfig.PathIn(home.FullName), "{nope");

            var error = Assert.Throws<CliException>(() => CliConfig.Load(home.FullName));

            Assert.Contains("berth login", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            home.Delete(recursive: true);
        }
    }
}
