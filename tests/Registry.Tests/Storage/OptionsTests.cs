using Berth.Registry.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Berth.Registry.Tests.Storage;

public sealed class OptionsTests
{
    [Fact]
    public void DataDirSwitch_MapsToRegistryDataDir()
    {
        var configuration = new ConfigurationBuilder()
            .AddCommandLine(["--urls", "http://127.0.0.1:1", "--data-dir", "/srv/registry"], RegistryOptions.SwitchMappings)
            .Build();

        var options = new RegistryOptions();
        configuration.GetSection(RegistryOptions.SectionName).Bind(options);

        Assert.Equal("/srv/registry", options.DataDir);
    }

    [Fact]
    public async Task InvalidOptions_StopTheRegistryAtStart()
    {
        await using var app = new RegistryApp();
        using var factory = app.Factory.WithWebHostBuilder(builder => builder.UseSetting("Registry:MaxManifestBytes", "10"));

        var exception = Assert.Throws<OptionsValidationException>(() => factory.CreateClient());
        Assert.Contains("MaxManifestBytes", exception.Message, StringComparison.Ordinal);
    }
}
