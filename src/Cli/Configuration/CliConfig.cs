using System.Text.Json;
using System.Text.Json.Serialization;
using Berth.Core.IO;

namespace Berth.Cli.Configuration;

/// <summary>
/// What <c>berth login</c> and <c>berth up</c> remember in <c>~/.berth/config.json</c>: endpoints and credentials.
/// The file holds secrets, so it is written owner-only (0600) and atomically.
/// </summary>
internal sealed class CliConfig
{
    /// <summary>The scheduler's gRPC endpoint.</summary>
    public string? Endpoint { get; set; }

    /// <summary>The scheduler API token.</summary>
    public string? Token { get; set; }

    /// <summary>The registry's base URL.</summary>
    public string? Registry { get; set; }

    /// <summary>The registry user (or robot) name.</summary>
    public string? RegistryUsername { get; set; }

    /// <summary>The registry password (or robot secret).</summary>
    public string? RegistryPassword { get; set; }

    /// <summary>The cluster commands use when none is given.</summary>
    public string? Cluster { get; set; }

    public const string FileName = "config.json";

    public static string PathIn(string home) => Path.Combine(home, FileName);

    /// <summary>Reads the file under <paramref name="home"/>; an empty config when there is none.</summary>
    public static CliConfig Load(string home)
    {
        var path = PathIn(home);
        if (!File.Exists(path))
        {
            return new CliConfig();
        }

        try
        {
            return JsonSerializer.Deserialize(File.ReadAllText(path), CliConfigJson.Default.CliConfig) ?? new CliConfig();
        }
        catch (JsonException e)
        {
            throw new Common.CliException($"{path} is not valid JSON ({e.Message}); fix it or delete it and run `berth login` again.");
        }
    }

    /// <summary>Writes the file under <paramref name="home"/> (0600, atomic).</summary>
    public void Save(string home) =>
        OwnerOnlyFile.WriteAtomic(PathIn(home), JsonSerializer.Serialize(this, CliConfigJson.Default.CliConfig), durable: false);
}

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(CliConfig))]
internal sealed partial class CliConfigJson : JsonSerializerContext;
