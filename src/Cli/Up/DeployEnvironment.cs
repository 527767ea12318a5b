using System.Reflection;

namespace Berth.Cli.Up;

/// <summary>
/// The environment <c>berth up</c> gives a service process: its <c>deploy/*.env</c> file, embedded in the CLI at build
/// time, the same file docker-compose and the benchmarks use (memory and runtime settings that only the environment
/// can carry; docs/registry.md, docs/load-balancer.md). A variable already set in the CLI's own environment wins, so a
/// user can override one.
/// </summary>
internal static class DeployEnvironment
{
    /// <summary>deploy/registry.env.</summary>
    public const string Registry = "registry.env";

    /// <summary>deploy/loadbalancer.env.</summary>
    public const string LoadBalancer = "loadbalancer.env";

    public static IReadOnlyDictionary<string, string> Resolve(string file, Func<string, string?> variable)
    {
        var settings = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in Parse(ReadEmbedded(file), file))
        {
            settings[key] = variable(key) is { Length: > 0 } own ? own : value;
        }

        return settings;
    }

    /// <summary>KEY=VALUE lines; blank lines and <c>#</c> comments skipped.</summary>
    internal static IEnumerable<KeyValuePair<string, string>> Parse(string text, string file)
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
                throw new InvalidDataException($"deploy/{file}: '{line}' is not KEY=VALUE");
            }

            yield return new(line[..equals], line[(equals + 1)..]);
        }
    }

    private static string ReadEmbedded(string file)
    {
        var resource = $"Berth.Cli.{file}";
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"the CLI was built without its {resource} resource");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
