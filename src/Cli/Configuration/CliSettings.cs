using Berth.Cli.Common;

namespace Berth.Cli.Configuration;

/// <summary>
/// The endpoints and credentials one command uses, resolved in this order: command-line option, environment
/// variable (<c>BERTH_ENDPOINT</c>, <c>BERTH_TOKEN</c>, <c>BERTH_REGISTRY</c>, <c>BERTH_REGISTRY_USERNAME</c>,
/// <c>BERTH_REGISTRY_PASSWORD</c>, <c>BERTH_CLUSTER</c>), <c>~/.berth/config.json</c>, then the local defaults
/// that <c>berth up</c> uses.
/// </summary>
internal sealed record CliSettings(Uri Endpoint, string? Token, Uri Registry, string? RegistryUsername, string? RegistryPassword, string Cluster)
{
    public const string DefaultEndpoint = "http://127.0.0.1:7070";
    public const string DefaultRegistry = "http://127.0.0.1:5000";
    public const string DefaultCluster = "default";

    public static CliSettings Resolve(CliEnvironment environment, CliConfig config, string? endpointOption, string? registryOption, string? clusterOption) => new(
        ParseUrl(endpointOption ?? environment.Variable("BERTH_ENDPOINT") ?? config.Endpoint ?? DefaultEndpoint, "endpoint"),
        environment.Variable("BERTH_TOKEN") ?? config.Token,
        ParseUrl(registryOption ?? environment.Variable("BERTH_REGISTRY") ?? config.Registry ?? DefaultRegistry, "registry"),
        environment.Variable("BERTH_REGISTRY_USERNAME") ?? config.RegistryUsername,
        environment.Variable("BERTH_REGISTRY_PASSWORD") ?? config.RegistryPassword,
        NonEmpty(clusterOption) ?? NonEmpty(environment.Variable("BERTH_CLUSTER")) ?? NonEmpty(config.Cluster) ?? DefaultCluster);

    /// <summary>Accepts <c>http(s)://host:port</c> or a bare <c>host:port</c> (taken as plain HTTP, as a local platform serves).</summary>
    public static Uri ParseUrl(string value, string what)
    {
        var text = value.Contains("://", StringComparison.Ordinal) ? value : "http://" + value;
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw new CliException($"the {what} '{value}' is not a URL; use http://HOST:PORT or https://HOST:PORT.", ExitCodes.Usage);
        }

        return uri;
    }

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}
