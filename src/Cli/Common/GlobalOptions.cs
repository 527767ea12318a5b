using System.CommandLine;

namespace Berth.Cli.Common;

/// <summary>Options every command takes (declared once on the root, recursive).</summary>
internal sealed class GlobalOptions
{
    public Option<OutputFormat> Output { get; } = new("--output", "-o")
    {
        Description = "How to print results: table or json",
        Recursive = true,
        DefaultValueFactory = _ => OutputFormat.Table,
        HelpName = "table|json",
        CustomParser = result => result.Tokens[0].Value.ToLowerInvariant() switch
        {
            "table" => OutputFormat.Table,
            "json" => OutputFormat.Json,
            var other => Fail(result, $"--output must be table or json, not '{other}'"),
        },
    };

    public Option<string?> Endpoint { get; } = new("--endpoint")
    {
        Description = "The scheduler's gRPC endpoint (default: BERTH_ENDPOINT, ~/.berth/config.json, http://127.0.0.1:7070)",
        Recursive = true,
    };

    public Option<string?> Registry { get; } = new("--registry")
    {
        Description = "The registry's URL (default: BERTH_REGISTRY, ~/.berth/config.json, http://127.0.0.1:5000)",
        Recursive = true,
    };

    public Option<string?> Cluster { get; } = new("--cluster", "-c")
    {
        Description = "The cluster (default: BERTH_CLUSTER, ~/.berth/config.json, 'default')",
        Recursive = true,
    };

    public void AddTo(Command root)
    {
        root.Add(Output);
        root.Add(Endpoint);
        root.Add(Registry);
        root.Add(Cluster);
    }

    private static OutputFormat Fail(System.CommandLine.Parsing.ArgumentResult result, string message)
    {
        result.AddError(message);
        return OutputFormat.Table;
    }
}
