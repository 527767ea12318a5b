using System.Reflection;

namespace Berth.Cli.Up;

/// <summary>
/// The environment <c>berth up</c> gives the registry process: <c>deploy/registry.env</c>, embedded in the CLI at
/// build time, the same file docker-compose and bench/registry.sh use (memory settings that only the environment can
/// carry; docs/registry.md). A variable already set in the CLI's own environment wins, so a user can override one.
/// </summary>
internal static class RegistryEnvironment
{
    private const string ResourceName = "Berth.Cli.registry.env";

    public static IReadOnlyDictionary<string, string> Resolve(Func<string, string?> variable)
    {
        var settings = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in Parse(ReadEmbedded()))
        {
            settings[key] = variable(key) is { Length: > 0 } own ? own : value;
        }

        return settings;
    }

    /// <summary>KEY=VALUE lines; blank lines and <c>#</c> comments skipped.</summary>
    internal static IEnumerable<KeyValuePair<string, string>> Parse(string text)
    {
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            var equals = line.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw new InvalidDataException($"deploy/registry.env: '{line}' is not KEY=VALUE");
            }

            yield return new(line[..equals], line[(equals + 1)..]);
        }
    }

    private static string ReadEmbedded()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"the CLI was built without its {ResourceName} resource");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
