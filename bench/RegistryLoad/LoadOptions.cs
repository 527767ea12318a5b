using System.Globalization;
using System.Net.Http.Headers;
using System.Text;

namespace Berth.Bench.RegistryLoad;

/// <summary>The command line.</summary>
internal sealed record LoadOptions
{
    public const string Usage = """
        berth registry load generator (in the spirit of zot's zb)

        usage: Berth.Bench.RegistryLoad --url http://127.0.0.1:PORT [options]

          --url URL            registry base address; loopback only (127.0.0.1, ::1, localhost)
          -w, --workload LIST  comma-separated workloads, or "all" (default: all)
          -c, --concurrency N  concurrent connections and workers (default 16)
          -n, --requests N     operations per workload, warm-up excluded (default 1000)
          -d, --duration SEC   stop starting operations after this many seconds (default 30)
          --warmup N           operations before measuring, not counted (default: the concurrency)
          --chunk-size BYTES   PATCH size of the chunked pushes (default: a quarter of the blob, at most 5 MiB)
          --user USER:PASS     Basic credentials on every request
          --token TOKEN        Bearer token on every request
          --repo-prefix NAME   repository namespace (default bench-<random>)
          --label TEXT         a name for this run in --results (e.g. berth-1)
          --results FILE       append one tab-separated line per workload
          --scale R:M          the populated registry of get-manifest-spread: R repositories of M manifests
                               (bench/registry-scale.sh populates it; default 100000:10)
          --list               print the workloads and exit

        An operation is one request for ping, head-blob, get-manifest and catalog; one image (blob uploads and a
        manifest PUT) for pushes; one image (manifest, config, layer) for pulls. Sizes are MiB (1m, 10m, 100m).
        """;

    public required Uri Url { get; init; }

    public IReadOnlyList<string> Workloads { get; init; } = [];

    public int Concurrency { get; init; } = 16;

    public int Requests { get; init; } = 1000;

    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(30);

    public int? Warmup { get; init; }

    public int? ChunkSize { get; init; }

    public AuthenticationHeaderValue? Authorization { get; init; }

    public string RepoPrefix { get; init; } = "bench-" + Guid.NewGuid().ToString("N")[..8];

    public string Label { get; init; } = "";

    public string? ResultsFile { get; init; }

    public bool List { get; init; }

    public (int Repositories, int PerRepository) Scale { get; init; } = (100_000, 10);

    public int WarmupCount => Warmup ?? Concurrency;

    public static LoadOptions Parse(string[] args)
    {
        Uri? url = null;
        var options = new LoadOptions { Url = null! };
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{name} needs a value");
            int Int() => int.Parse(Value(), CultureInfo.InvariantCulture) is var v && v > 0 ? v : throw new ArgumentException($"{name} must be positive");
            options = name switch
            {
                "--url" => options with { Url = url = new Uri(Value().TrimEnd('/') + "/") },
                "-w" or "--workload" => options with { Workloads = Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) },
                "-c" or "--concurrency" => options with { Concurrency = Int() },
                "-n" or "--requests" => options with { Requests = Int() },
                "-d" or "--duration" => options with { Duration = TimeSpan.FromSeconds(double.Parse(Value(), CultureInfo.InvariantCulture)) },
                "--warmup" => options with { Warmup = int.Parse(Value(), CultureInfo.InvariantCulture) },
                "--chunk-size" => options with { ChunkSize = Int() },
                "--user" => options with { Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(Value()))) },
                "--token" => options with { Authorization = new AuthenticationHeaderValue("Bearer", Value()) },
                "--repo-prefix" => options with { RepoPrefix = Value() },
                "--label" => options with { Label = Value() },
                "--results" => options with { ResultsFile = Value() },
                "--list" => options with { List = true },
                "--scale" => options with { Scale = ParseScale(Value()) },
                _ => throw new ArgumentException($"unknown option {name}"),
            };
        }

        if (options.List)
        {
            return options with { Url = url ?? new Uri("http://127.0.0.1/") };
        }

        if (url is null)
        {
            throw new ArgumentException("--url is required");
        }

        // This tool generates heavy traffic; it is for registries on this machine only.
        if (!url.IsLoopback || url.Scheme is not ("http" or "https"))
        {
            throw new ArgumentException($"{url} is not an http(s) loopback address");
        }

        if (options.Workloads.Count == 0 || options.Workloads is ["all"])
        {
            options = options with { Workloads = Workload.All.Select(w => w.Name).ToList() };
        }

        return options;
    }

    private static (int, int) ParseScale(string value)
    {
        var parts = value.Split(':');
        return parts.Length == 2 && int.TryParse(parts[0], CultureInfo.InvariantCulture, out var r) && int.TryParse(parts[1], CultureInfo.InvariantCulture, out var m) && r > 0 && m > 0
            ? (r, m)
            : throw new ArgumentException($"--scale wants REPOSITORIES:PER_REPOSITORY, got {value}");
    }
}
