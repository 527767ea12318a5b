using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Berth.Bench.LoadBalancer;
using Berth.Scheduler.V1;
using Berth.TestSupport;

// Berth's balancer against nginx 1.22 (reverse proxy, 2 workers, keep-alive to the upstream) and haproxy 2.6
// (2 threads, connection reuse), one upstream (nginx serving two static files, 1 worker) for all of them, one load
// tool (wrk, --latency). Rounds interleave the proxies (A/B/C/A/B/C...) so drift in the machine's load hits all alike.
// Usage: dotnet run -c Release --project bench/LoadBalancer -- [--seconds 10] [--rounds 3] [--connections 64]
//        [--variants berth,nginx,haproxy] [--gc wks|srv|both] [--env deploy/loadbalancer.env|none]
//        [--set VARIANT:KEY=VALUE]... [--dll VARIANT:PATH]... [--sizes small,large] [--warmup 10]
// Any variant that is not nginx or haproxy is a Berth balancer; --set adds or overrides one environment variable of
// one of them and --dll runs another build of it (e.g. a copy of the previous commit's output), for A/B runs.
// CPU per request is the proxy's utime+stime (all its processes) over the requests wrk completed: it moves less
// with the machine's load than requests/s does; context switches per request likewise (all the proxy's threads).
var seconds = Arg("--seconds", 10);
var rounds = Arg("--rounds", 3);
var connections = Arg("--connections", 64);
var variants = ArgText("--variants", "berth,nginx,haproxy").Split(',');
var gc = ArgText("--gc", "wks");
var sizes = ArgText("--sizes", "small,large").Split(',');
// Long enough for tiered compilation to reach its final code on a loaded machine (3 s was not: CPU per request kept
// falling from round to round).
var warmup = Arg("--warmup", 10);
const double ClockTicksPerSecond = 100; // getconf CLK_TCK on Linux
var root = Directory.CreateTempSubdirectory("berth-lb-bench-").FullName;
var processes = new List<Process>();
try
{
    var www = Directory.CreateDirectory(Path.Combine(root, "www")).FullName;
    await File.WriteAllBytesAsync(Path.Combine(www, "small.bin"), RandomBytes(1024));
    await File.WriteAllBytesAsync(Path.Combine(www, "large.bin"), RandomBytes(1024 * 1024));

    // nginx's workers run as www-data: the temp directory (0700) must be readable for them.
#pragma warning disable CA1416 // Linux only: nginx, haproxy and wrk are Debian packages.
    foreach (var path in new[] { root, www })
    {
        File.SetUnixFileMode(path, (UnixFileMode)0b111_101_101);
    }

    foreach (var file in Directory.GetFiles(www))
    {
        File.SetUnixFileMode(file, (UnixFileMode)0b110_100_100);
    }
#pragma warning restore CA1416

    var upstream = TestPorts.Next();
    processes.Add(StartNginx("upstream", $$"""
        worker_processes 1;
        pid {{root}}/upstream.pid;
        error_log {{root}}/upstream.err;
        events { worker_connections 4096; }
        http {
          access_log off;
          sendfile on;
          tcp_nopush on;
          keepalive_requests 1000000;
          server { listen 127.0.0.1:{{upstream}}; root {{www}}; }
        }
        """));

    var ports = new Dictionary<string, int>();
    var proxies = new Dictionary<string, Process>();
    foreach (var variant in variants)
    {
        var port = TestPorts.Next();
        switch (variant)
        {
            case "nginx":
                processes.Add(StartNginx("proxy", $$"""
                    worker_processes 2;
                    pid {{root}}/proxy.pid;
                    error_log {{root}}/proxy.err;
                    events { worker_connections 4096; }
                    http {
                      access_log off;
                      keepalive_requests 1000000;
                      upstream targets { server 127.0.0.1:{{upstream}}; keepalive 128; }
                      server {
                        listen 127.0.0.1:{{port}};
                        location / {
                          proxy_pass http://targets;
                          proxy_http_version 1.1;
                          proxy_set_header Connection "";
                        }
                      }
                    }
                    """));
                proxies[variant] = processes[^1];
                break;
            case "haproxy":
                var cfg = Path.Combine(root, "haproxy.cfg");
                await File.WriteAllTextAsync(cfg, $$"""
                    global
                      nbthread 2
                      maxconn 4000
                    defaults
                      mode http
                      timeout connect 5s
                      timeout client 60s
                      timeout server 60s
                      http-reuse always
                    frontend web
                      bind 127.0.0.1:{{port}}
                      default_backend targets
                    backend targets
                      server t1 127.0.0.1:{{upstream}}

                    """);
                processes.Add(Start("haproxy", ["-f", cfg, "-db"]));
                proxies[variant] = processes[^1];
                break;
            default:
                await StartBerthAsync(variant, port, upstream);
                proxies[variant] = processes[^1];
                break;
        }

        ports[variant] = port;
    }

    foreach (var port in ports.Values.Append(upstream))
    {
        await WaitForPortAsync(port);
    }

    Console.WriteLine($"# machine: {Environment.ProcessorCount} cores; load average at start: {LoadAverage()}; {DateTime.UtcNow:u}");
    foreach (var (variant, port) in ports)
    {
        // Warm-up (JIT, connection pools, page cache); not counted.
        foreach (var size in sizes)
        {
            await WrkAsync(port, $"/{size}.bin", warmup, connections);
        }
    }

    var results = new List<(string Variant, string Size, int Round, Wrk Result, double RssMiB, double CpuUsPerRequest, double SwitchesPerRequest)>();
    for (var round = 1; round <= rounds; round++)
    {
        foreach (var size in sizes)
        {
            foreach (var (variant, port) in ports)
            {
                var proxy = proxies[variant];
                var berth = variant is "nginx" or "haproxy" ? null : proxy;
                using var sampler = berth is null ? null : new RssSampler(berth.Id);
                var cpuBefore = CpuTicks(proxy.Id);
                var switchesBefore = ContextSwitches(proxy.Id);
                var result = await WrkAsync(port, $"/{size}.bin", seconds, connections);
                var cpuUs = (CpuTicks(proxy.Id) - cpuBefore) * 1e6 / ClockTicksPerSecond / (result.RequestsPerSecond * seconds);
                var switches = (ContextSwitches(proxy.Id) - switchesBefore) / (result.RequestsPerSecond * seconds);
                var rss = sampler?.PeakMiB ?? double.NaN;
                results.Add((variant, size, round, result, rss, cpuUs, switches));
                Console.WriteLine($"round {round} {size,-5} {variant,-10} {result.RequestsPerSecond,10:F0} req/s {result.MegabytesPerSecond,9:F1} MB/s p50 {result.P50Ms,7:F2} ms p99 {result.P99Ms,7:F2} ms cpu {cpuUs,7:F1} us/req ctxsw {switches,5:F2}/req errors {result.Errors}{(double.IsNaN(rss) ? "" : $" rss-peak {rss:F1} MiB")} (load {LoadAverage()})");
            }
        }
    }

    Console.WriteLine();
    Console.WriteLine($"| size | proxy | req/s (median of {rounds}) | MB/s | p99 ms (median) | CPU us/req (median) | context switches/req | vs nginx req/s | vs nginx p99 | peak RSS MiB |");
    Console.WriteLine("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    foreach (var size in sizes)
    {
        var nginx = results.Where(r => r.Variant == "nginx" && r.Size == size).Select(r => r.Result.RequestsPerSecond).DefaultIfEmpty(double.NaN).ToList();
        var nginxMedian = Median(nginx);
        var nginxP99 = Median(results.Where(r => r.Variant == "nginx" && r.Size == size).Select(r => r.Result.P99Ms));
        foreach (var variant in ports.Keys)
        {
            var mine = results.Where(r => r.Variant == variant && r.Size == size).ToList();
            var rps = Median(mine.Select(r => r.Result.RequestsPerSecond));
            var p99 = Median(mine.Select(r => r.Result.P99Ms));
            Console.WriteLine($"| {(size == "small" ? "1 KiB" : "1 MiB")} | {variant} | {rps:F0} | {Median(mine.Select(r => r.Result.MegabytesPerSecond)):F1} | {p99:F2} | {Median(mine.Select(r => r.CpuUsPerRequest)):F1} | {Median(mine.Select(r => r.SwitchesPerRequest)):F2} | {rps / nginxMedian:F2} | {p99 / nginxP99:F2} | {(mine.All(r => double.IsNaN(r.RssMiB)) ? "" : mine.Max(r => r.RssMiB).ToString("F1", CultureInfo.InvariantCulture))} |");
        }
    }

    Console.WriteLine($"# load average at end: {LoadAverage()}");
}
finally
{
    foreach (var p in processes)
    {
        try
        {
            p.Kill(entireProcessTree: true);
            await p.WaitForExitAsync();
        }
        catch (InvalidOperationException)
        {
        }
    }

    Directory.Delete(root, recursive: true);
}

async Task StartBerthAsync(string variant, int port, int upstream)
{
    var group = new TargetGroupState
    {
        TargetGroup = new TargetGroup
        {
            TargetGroupArn = "arn:berth:elasticloadbalancing:bench:0:targetgroup/bench/1",
            TargetGroupName = "bench",
            Protocol = TargetProtocol.Http,
            Port = upstream,
            HealthCheck = new HealthCheck { Path = "/small.bin", IntervalSeconds = 5, TimeoutSeconds = 2, HealthyThresholdCount = 2 },
        },
        Targets = { new Berth.Scheduler.V1.TargetState { Target = new TargetDescription { Id = "127.0.0.1", Port = upstream }, Registration = TargetRegistration.Registered } },
    };
    var snapshot = new ConfigSnapshot
    {
        Epoch = "bench",
        Version = 1,
        Config = new BalancerConfig
        {
            LoadBalancer = new Berth.Scheduler.V1.LoadBalancer { LoadBalancerArn = "arn:berth:elasticloadbalancing:bench:0:loadbalancer/app/bench/1", LoadBalancerName = "bench" },
            Listeners =
            {
                new Listener
                {
                    ListenerArn = "arn:berth:elasticloadbalancing:bench:0:listener/app/bench/1/1",
                    Port = port,
                    Protocol = ListenerProtocol.Http,
                    DefaultActions = { new Berth.Scheduler.V1.RuleAction { Forward = new ForwardActionConfig { TargetGroups = { new TargetGroupTuple { TargetGroupArn = group.TargetGroup.TargetGroupArn } } } } },
                },
            },
            TargetGroups = { group },
        },
    };
    var watch = new WatchServer(snapshot, "bench-token");
    await watch.StartAsync();
    var dir = Directory.CreateDirectory(Path.Combine(root, variant)).FullName;
    var tokenFile = Path.Combine(root, variant + ".token");
    await File.WriteAllTextAsync(tokenFile, "bench-token");
    var dll = VariantArgs("--dll", variant).LastOrDefault()
        ?? Path.Combine(AppContext.BaseDirectory, "../../../../../src/LoadBalancer/bin/Release/net10.0/Berth.LoadBalancer.dll");
    var env = new Dictionary<string, string> { ["BERTH_BENCH_VARIANT"] = variant };
    // deploy/loadbalancer.env, the environment Berth ships for the balancer (--env none: the runtime's defaults).
    var envFile = ArgText("--env", Path.Combine(AppContext.BaseDirectory, "../../../../../deploy/loadbalancer.env"));
    if (envFile != "none")
    {
        foreach (var line in File.ReadAllLines(envFile).Where(l => l.Contains('=', StringComparison.Ordinal) && !l.StartsWith('#')))
        {
            env[line[..line.IndexOf('=', StringComparison.Ordinal)]] = line[(line.IndexOf('=', StringComparison.Ordinal) + 1)..];
        }
    }

    var useServerGc = gc == "srv" || (gc == "both" && variant.EndsWith("-srv", StringComparison.Ordinal));
    env["DOTNET_gcServer"] = useServerGc ? "1" : "0";
    foreach (var setting in VariantArgs("--set", variant))
    {
        env[setting[..setting.IndexOf('=', StringComparison.Ordinal)]] = setting[(setting.IndexOf('=', StringComparison.Ordinal) + 1)..];
    }

    Console.WriteLine($"# {variant}: {dll} {string.Join(' ', env.Where(e => e.Key != "BERTH_BENCH_VARIANT").Select(e => $"{e.Key}={e.Value}"))}");
    processes.Add(Start("dotnet", [Path.GetFullPath(dll), "--scheduler-url", watch.Url.ToString(), "--token-file", tokenFile, "--data-dir", dir,
        "--listen-address", "127.0.0.1", "--admin-url", $"http://127.0.0.1:{TestPorts.Next()}", "--Logging:LogLevel:Default", "Warning"], env));
    // Ready when the health checks found the upstream healthy (2 checks, 5 s apart).
    await Task.Delay(TimeSpan.FromSeconds(7));
}

Process StartNginx(string name, string config)
{
    var path = Path.Combine(root, name + ".conf");
    File.WriteAllText(path, config);
    return Start("nginx", ["-c", path, "-p", root, "-g", "daemon off;"]);
}

static Process Start(string file, string[] args, Dictionary<string, string>? env = null)
{
    var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
    foreach (var a in args)
    {
        info.ArgumentList.Add(a);
    }

    foreach (var (k, v) in env ?? [])
    {
        info.Environment[k] = v;
    }

    var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {file}");
    process.OutputDataReceived += (_, e) =>
    {
        if (e.Data is { Length: > 0 } line && file == "dotnet")
        {
            Console.Error.WriteLine($"[{file}] {line}");
        }
    };
    process.ErrorDataReceived += (_, e) =>
    {
        if (e.Data is { Length: > 0 } line)
        {
            Console.Error.WriteLine($"[{file}] {line}");
        }
    };
    process.BeginOutputReadLine();
    process.BeginErrorReadLine();
    return process;
}

static async Task<Wrk> WrkAsync(int port, string path, int seconds, int connections)
{
    var info = new ProcessStartInfo("wrk") { RedirectStandardOutput = true };
    foreach (var a in new[] { "-t2", $"-c{connections}", $"-d{seconds}s", "--latency", $"http://127.0.0.1:{port}{path}" })
    {
        info.ArgumentList.Add(a);
    }

    using var process = Process.Start(info)!;
    var output = await process.StandardOutput.ReadToEndAsync();
    await process.WaitForExitAsync();
    return Wrk.Parse(output);
}

static async Task WaitForPortAsync(int port)
{
    for (var i = 0; i < 300; i++)
    {
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(IPAddress.Loopback, port);
            return;
        }
        catch (SocketException)
        {
            await Task.Delay(100);
        }
    }

    throw new TimeoutException($"port {port} never opened");
}

static byte[] RandomBytes(int n)
{
    var b = new byte[n];
    Random.Shared.NextBytes(b);
    return b;
}

static string LoadAverage() => File.ReadAllText("/proc/loadavg").Split(' ')[..3] is var l ? string.Join(' ', l) : "";

static double Median(IEnumerable<double> values)
{
    var sorted = values.Where(v => !double.IsNaN(v)).Order().ToArray();
    return sorted.Length == 0 ? double.NaN : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
}

// Every `NAME VARIANT:VALUE` argument for this variant, in order.
IEnumerable<string> VariantArgs(string name, string variant)
{
    for (var i = 0; i < args.Length - 1; i++)
    {
        if (args[i] == name && args[i + 1].StartsWith(variant + ":", StringComparison.Ordinal))
        {
            yield return args[i + 1][(variant.Length + 1)..];
        }
    }
}

// utime + stime of a process and its children (nginx's workers), in clock ticks.
static long CpuTicks(int pid)
{
    long total = 0;
    foreach (var (_, fields) in ProcessAndChildren(pid))
    {
        total += long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
    }

    return total;
}

// Voluntary and involuntary context switches of every live thread of a process and its children: a thread hop or a
// wake-up per request shows here even when the machine's load hides it in the CPU time.
static long ContextSwitches(int pid)
{
    long total = 0;
    foreach (var (dir, _) in ProcessAndChildren(pid))
    {
        try
        {
            foreach (var task in Directory.EnumerateDirectories(Path.Combine(dir, "task")))
            {
                foreach (var line in File.ReadLines(Path.Combine(task, "status")))
                {
                    if (line.StartsWith("voluntary_ctxt_switches:", StringComparison.Ordinal) || line.StartsWith("nonvoluntary_ctxt_switches:", StringComparison.Ordinal))
                    {
                        total += long.Parse(line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim(), CultureInfo.InvariantCulture);
                    }
                }
            }
        }
        catch (IOException)
        {
            // A thread (or the process) ended while it was read.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    return total;
}

// The /proc directory and the fields after the command name of `pid` and of its direct children.
static IEnumerable<(string Dir, string[] Fields)> ProcessAndChildren(int pid)
{
    foreach (var dir in Directory.EnumerateDirectories("/proc"))
    {
        string stat;
        try
        {
            stat = File.ReadAllText(Path.Combine(dir, "stat"));
        }
        catch (IOException)
        {
            continue;
        }
        catch (UnauthorizedAccessException)
        {
            continue;
        }

        // pid (comm) state ppid ... : fields after the command name, which may hold spaces.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var self = int.Parse(stat[..stat.IndexOf(' ', StringComparison.Ordinal)], CultureInfo.InvariantCulture);
        if (self == pid || int.Parse(fields[1], CultureInfo.InvariantCulture) == pid)
        {
            yield return (dir, fields);
        }
    }
}

int Arg(string name, int fallback) => Array.IndexOf(args, name) is var i and >= 0 ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;

string ArgText(string name, string fallback) => Array.IndexOf(args, name) is var i and >= 0 ? args[i + 1] : fallback;

/// <summary>What wrk reports: requests/s, transfer/s, latency percentiles, socket errors and non-2xx.</summary>
internal sealed partial record Wrk(double RequestsPerSecond, double MegabytesPerSecond, double P50Ms, double P99Ms, long Errors)
{
    public static Wrk Parse(string output)
    {
        var rps = double.Parse(Rps().Match(output).Groups[1].Value, CultureInfo.InvariantCulture);
        var transfer = Transfer().Match(output);
        var mb = double.Parse(transfer.Groups[1].Value, CultureInfo.InvariantCulture) * transfer.Groups[2].Value switch
        {
            "GB" => 1024,
            "KB" => 1.0 / 1024,
            "B" => 1.0 / 1024 / 1024,
            _ => 1,
        };
        var errors = 0L;
        foreach (Match m in ErrorLines().Matches(output))
        {
            errors += long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        }

        return new Wrk(rps, mb, Latency(output, "50%"), Latency(output, "99%"), errors);
    }

    private static double Latency(string output, string percentile)
    {
        var m = Regex.Match(output, $@"^\s*{Regex.Escape(percentile)}\s+([\d.]+)(us|ms|s)", RegexOptions.Multiline);
        var v = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        return m.Groups[2].Value switch { "us" => v / 1000, "s" => v * 1000, _ => v };
    }

    [GeneratedRegex(@"Requests/sec:\s+([\d.]+)")]
    private static partial Regex Rps();

    [GeneratedRegex(@"Transfer/sec:\s+([\d.]+)(GB|MB|KB|B)")]
    private static partial Regex Transfer();

    [GeneratedRegex(@"(?:Non-2xx or 3xx responses:|\bconnect|\bread|\bwrite|\btimeout) (\d+)")]
    private static partial Regex ErrorLines();
}

/// <summary>Samples a process's resident set (VmRSS) every 100 ms; <see cref="PeakMiB"/> is the highest seen.</summary>
internal sealed class RssSampler : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private double _peak;

    public RssSampler(int pid)
    {
        _loop = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                foreach (var line in await File.ReadAllLinesAsync($"/proc/{pid}/status"))
                {
                    if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                    {
                        _peak = Math.Max(_peak, double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024);
                    }
                }

                try
                {
                    await Task.Delay(100, _stop.Token);
                }
                catch (OperationCanceledException)
                {
                }
            }
        });
    }

    public double PeakMiB => _peak;

    public void Dispose()
    {
        _stop.Cancel();
        _loop.Wait();
        _stop.Dispose();
    }
}
