using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Berth.Cli.Common;

namespace Berth.Cli.Up;

/// <summary>Where <c>berth up</c>'s FARGATE pool makes its hosts, kept in <c>fargate/lab.json</c> so every start uses the same lab.</summary>
internal sealed record LabIdentity(string Id, int Net);

/// <summary>
/// The lab the FARGATE pool of <c>berth up</c> makes its hosts in (issue 17's embedded default): network namespaces on
/// this machine with their own dockerd and agent, made and retired by the scheduler's <c>lab</c> provisioner
/// (lab/host.sh). <c>berth up</c> makes the lab's network (a switch namespace and the root leg, <c>10.231.NET.254</c>),
/// where the scheduler and the registry listen besides 127.0.0.1; the hosts reach the registry by the name images are
/// pushed with (<c>127.0.0.1:PORT</c>, forwarded to the root leg inside each host by lab/host.sh's <c>LAB_FORWARD_PORTS</c>).
/// The lab's id and network are chosen on the first start (a free <c>10.231.x.0/24</c>) and kept, so that the next
/// <c>berth up</c> finds the hosts its pool left running.
/// </summary>
internal sealed class FargateLab
{
    private static readonly JsonSerializerOptions s_json = new(JsonSerializerDefaults.Web);
    private static readonly string[] s_commands = ["ip", "nsenter", "setsid", "flock", "dockerd", "iptables"];
    private static readonly string[] s_files = ["/usr/lib/cni/bridge", "/usr/lib/cni/host-local", "/bin/busybox"];

    // lab/common.sh's names: the hosts' engine sockets are LAB_DIR/hN/docker.sock, and a unix socket's path has at most
    // 107 bytes (sun_path).
    private const int MaxSocketPath = 107;

    private FargateLab(LabIdentity identity, string directory, string scripts)
    {
        Id = identity.Id;
        Net = identity.Net;
        Directory = directory;
        ScriptsDirectory = scripts;
    }

    public string Id { get; }

    public int Net { get; }

    /// <summary>The lab's data directory (LAB_DIR): one <c>hN/</c> per host.</summary>
    public string Directory { get; }

    public string ScriptsDirectory { get; }

    /// <summary>The root namespace's address on the lab's bridge: where the hosts reach the scheduler and the registry.</summary>
    public string RootAddress => $"10.231.{Net.ToString(CultureInfo.InvariantCulture)}.254";

    /// <summary>The command that removes the lab with every host in it (what <c>berth down</c> leaves when hosts remain).</summary>
    public string DownCommand => $"sudo LAB_ID={Id} LAB_NET={Net.ToString(CultureInfo.InvariantCulture)} LAB_DIR={Directory} {Path.Combine(ScriptsDirectory, "down.sh")}";

    /// <summary>The lab scripts that travel with the scheduler's build (its output carries a copy in <c>lab/</c>).</summary>
    public static string ScriptsBeside(PlatformBinaries binaries) => Path.Combine(Path.GetDirectoryName(binaries.Scheduler)!, "lab");

    /// <summary>
    /// Why this machine cannot make lab hosts for <c>berth up</c>, in one sentence; null when it can: root, iproute2 with
    /// network namespaces, nsenter/setsid/flock (util-linux), dockerd and iptables, the CNI plugins and busybox-static the
    /// agents' awsvpc tasks need, the lab scripts, and a loopback <c>--listen</c> address (the name the hosts' forward
    /// makes work). gVisor (<c>runsc</c>) is optional: the hosts' engines register it when installed.
    /// </summary>
    public static string? Problem(string scripts, string dataDirectory, string listenAddress, Func<string, string?> variable)
    {
        if (Posix.EffectiveUserId() != 0)
        {
            return "FARGATE tasks need root: `sudo ./berth up` runs them on hosts Berth makes (network namespaces with their own dockerd)";
        }

        if (!IPAddress.TryParse(listenAddress, out var listen) || !IPAddress.IsLoopback(listen) || listen.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork)
        {
            return $"FARGATE pool hosts reach the registry by its loopback name; with --listen {listenAddress} the pool is off";
        }

        var path = variable("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin";
        var missing = s_commands
            .Where(command => !path.Split(':', StringSplitOptions.RemoveEmptyEntries).Any(d => File.Exists(Path.Combine(d, command))))
            .Concat(s_files.Where(f => !File.Exists(f)))
            .ToList();
        if (missing.Count > 0)
        {
            return $"FARGATE pool hosts need {string.Join(", ", missing)} (apt-get install iproute2 util-linux docker.io iptables containernetworking-plugins busybox-static)";
        }

        if (!File.Exists(Path.Combine(scripts, "host.sh")))
        {
            return $"FARGATE pool hosts need the lab scripts, and {scripts} has no host.sh";
        }

        var socket = Path.Combine(LabDirectoryOf(dataDirectory), "h15", "docker.sock");
        return socket.Length > MaxSocketPath
            ? $"FARGATE pool hosts' engine sockets under {dataDirectory} would be longer than a unix socket path may be; use a shorter --data-dir"
            : null;
    }

    /// <summary>The lab of <paramref name="layout"/>: the one chosen before, or a new id and a free network, recorded.</summary>
    public static async Task<FargateLab> OpenAsync(PlatformDataDirectory layout, string scripts, CancellationToken ct)
    {
        var identity = ReadIdentity(layout.FargateLabIdentity);
        if (identity is null)
        {
            identity = new LabIdentity("u" + Guid.NewGuid().ToString("N")[..3], await FreeNetAsync(ct));
            Core.IO.OwnerOnlyFile.WriteAtomic(layout.FargateLabIdentity, JsonSerializer.SerializeToUtf8Bytes(identity, s_json));
        }

        return new FargateLab(identity, LabDirectoryOf(layout.Root), scripts);
    }

    /// <summary>The lab described by a running platform's <c>platform.json</c> (for <c>berth status</c> and <c>berth down</c>).</summary>
    public static FargateLab? Of(PlatformInfo platform, string dataDirectory) =>
        platform.FargateLab is { } id && platform.FargateNet is { } net
            ? new FargateLab(new LabIdentity(id, net), LabDirectoryOf(dataDirectory), platform.FargateScripts ?? "lab")
            : null;

    /// <summary>Makes the lab's switch and root leg when missing (lab/host.sh network); returns the root address.</summary>
    public async Task<string> EnsureNetworkAsync(CancellationToken ct)
    {
        var (code, output) = await RunAsync("host.sh", ["network"], ct);
        return code == 0 ? output.Trim() : throw new CliException($"lab/host.sh network failed (exit {code}): {output.Trim()}");
    }

    /// <summary>The names of the hosts in the lab (running, half-made or broken), from its directory.</summary>
    public IReadOnlyList<string> HostNames()
    {
        if (!System.IO.Directory.Exists(Directory))
        {
            return [];
        }

        return [.. System.IO.Directory.EnumerateDirectories(Directory, "h*")
            .Select(d => Path.Combine(d, "name"))
            .Where(File.Exists)
            .Select(f => File.ReadAllText(f).Trim())
            .Order(StringComparer.Ordinal)];
    }

    /// <summary>
    /// Once the platform has stopped: removes the lab's network and directory when no host is left in it (lab/down.sh);
    /// returns the hosts that remain otherwise (they keep running with their tasks for the next <c>berth up</c>).
    /// </summary>
    public async Task<IReadOnlyList<string>> TearDownIfEmptyAsync(CancellationToken ct)
    {
        var hosts = HostNames();
        if (hosts.Count > 0)
        {
            return hosts;
        }

        var (code, output) = await RunAsync("down.sh", [], ct);
        return code == 0 ? [] : throw new CliException($"lab/down.sh failed (exit {code}): {output.Trim()}");
    }

    private static string LabDirectoryOf(string dataDirectory) => Path.Combine(dataDirectory, "fargate", "lab");

    private static LabIdentity? ReadIdentity(string path)
    {
        try
        {
            return File.Exists(path) && JsonSerializer.Deserialize<LabIdentity>(File.ReadAllBytes(path), s_json) is { Id.Length: > 0 } identity ? identity : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>A 10.231.x.0/24 that no interface of this machine is on (every lab's root leg is one), from a random start.</summary>
    private static async Task<int> FreeNetAsync(CancellationToken ct)
    {
        var (code, addresses) = await RunProcessAsync("ip", ["-o", "-4", "addr", "show"], null, ct);
        if (code != 0)
        {
            throw new CliException($"ip addr show failed: {addresses.Trim()}");
        }

        var start = Random.Shared.Next(0, 250);
        for (var i = 0; i < 250; i++)
        {
            var net = ((start + i) % 250) + 1;
            if (!addresses.Contains($" 10.231.{net.ToString(CultureInfo.InvariantCulture)}.", StringComparison.Ordinal))
            {
                return net;
            }
        }

        throw new CliException("every 10.231.x.0/24 is taken by an interface of this machine: no network is left for the FARGATE pool's lab");
    }

    private Task<(int ExitCode, string Output)> RunAsync(string script, IReadOnlyList<string> arguments, CancellationToken ct) =>
        RunProcessAsync("bash", [Path.Combine(ScriptsDirectory, script), .. arguments], new Dictionary<string, string>
        {
            ["LAB_ID"] = Id,
            ["LAB_NET"] = Net.ToString(CultureInfo.InvariantCulture),
            ["LAB_DIR"] = Directory,
        }, ct);

    /// <summary>Runs a program to its end; its standard output, or its standard error when it failed.</summary>
    private static async Task<(int ExitCode, string Output)> RunProcessAsync(string program, IReadOnlyList<string> arguments, IReadOnlyDictionary<string, string>? environment, CancellationToken ct)
    {
        var info = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync(ct);
        var error = process.StandardError.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct);
        return (process.ExitCode, process.ExitCode == 0 ? await output : (await error) + await output);
    }
}
