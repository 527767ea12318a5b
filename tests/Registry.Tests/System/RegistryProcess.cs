using System.Diagnostics;
using System.Net;
using Berth.TestSupport;

// Not "...Tests.System": a namespace named System would shadow the real one for every sibling namespace.
namespace Berth.Registry.Tests.SystemTests;

/// <summary>Which registry implementation a system test drives.</summary>
public enum RegistryKind
{
    /// <summary>Berth's registry: the built Berth.Registry.dll run with <c>dotnet</c>.</summary>
    Berth,

    /// <summary>CNCF distribution (Debian's docker-registry), the known-good reference the tests were proven against.</summary>
    Distribution,
}

/// <summary>How a Berth registry process is started.</summary>
/// <param name="Auth">Token auth on (the default of a real install); off for tests about the distribution API itself.</param>
/// <param name="TlsCertificate">A PEM certificate to serve https with (with <paramref name="TlsKey"/>).</param>
/// <param name="TlsKey">The PEM private key of <paramref name="TlsCertificate"/>.</param>
/// <param name="Arguments">More command-line arguments for a Berth registry (e.g. <c>--allow-sparse-manifests index</c>).</param>
public sealed record RegistryProcessOptions(bool Auth = false, string? TlsCertificate = null, string? TlsKey = null, IReadOnlyList<string>? Arguments = null);

/// <summary>
/// A registry running as a real child process on a free loopback port, with its state in a data directory that
/// survives <see cref="Kill"/> so that a restart on the same directory can be tested.
/// </summary>
/// <remarks>
/// The system tests drive Berth by default. <c>BERTH_SYSTEM_REGISTRY=distribution</c> runs the same tests against
/// CNCF distribution, which is how they were proven to test the protocol rather than Berth's quirks.
/// </remarks>
public sealed class RegistryProcess : IAsyncDisposable
{
    private readonly Action<string> _log;
    private Process? _process;

    private readonly RegistryProcessOptions _options;

    private RegistryProcess(RegistryKind kind, string dataDir, int port, Action<string> log, RegistryProcessOptions options)
    {
        _options = options;
        Kind = kind;
        DataDir = dataDir;
        Port = port;
        _log = log;
    }

    /// <summary>The implementation behind this process.</summary>
    public RegistryKind Kind { get; }

    /// <summary>The directory holding every byte of the registry's state.</summary>
    public string DataDir { get; }

    /// <summary>The loopback port the registry listens on.</summary>
    public int Port { get; }

    /// <summary><c>127.0.0.1:PORT</c>, the registry part of image references.</summary>
    public string Host => $"127.0.0.1:{Port}";

    /// <summary>The base address for HTTP calls.</summary>
    public Uri BaseAddress => new($"{(_options.TlsCertificate is null ? "http" : "https")}://{Host}/");

    /// <summary>The initial admin password a Berth registry wrote on its first start.</summary>
    public string AdminPassword => File.ReadAllText(Path.Combine(DataDir, "initial-admin-password")).Trim();

    /// <summary>The process id while running.</summary>
    public int? ProcessId => _process is { HasExited: false } p ? p.Id : null;

    /// <summary>The implementation chosen with <c>BERTH_SYSTEM_REGISTRY</c> (<c>berth</c> when unset).</summary>
    public static RegistryKind ConfiguredKind =>
        Environment.GetEnvironmentVariable("BERTH_SYSTEM_REGISTRY")?.Trim().ToLowerInvariant() switch
        {
            null or "" or "berth" => RegistryKind.Berth,
            "distribution" => RegistryKind.Distribution,
            var other => throw new InvalidOperationException($"BERTH_SYSTEM_REGISTRY={other}: expected berth or distribution."),
        };

    /// <summary>Starts a registry on a fresh temporary data directory and waits until <c>GET /v2/</c> answers.</summary>
    public static async Task<RegistryProcess> StartAsync(Action<string> log, RegistryKind? kind = null, RegistryProcessOptions? options = null)
    {
        var dataDir = Directory.CreateTempSubdirectory("berth-registry-system-").FullName;
        var registry = new RegistryProcess(kind ?? ConfiguredKind, dataDir, TestPorts.Next(), log, options ?? new RegistryProcessOptions());
        try
        {
            await registry.RestartAsync();
        }
        catch
        {
            await registry.DisposeAsync();
            throw;
        }

        return registry;
    }

    /// <summary>Starts the process again (same port, same data directory) after <see cref="Kill"/>.</summary>
    public async Task RestartAsync()
    {
        if (ProcessId is not null)
        {
            throw new InvalidOperationException("The registry is still running.");
        }

        var info = Kind == RegistryKind.Berth ? BerthStartInfo() : DistributionStartInfo();
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.UseShellExecute = false;
        var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => Forward(e.Data);
        process.ErrorDataReceived += (_, e) => Forward(e.Data);
        _log($"$ {info.FileName} {string.Join(' ', info.ArgumentList)}");
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process?.Dispose();
        _process = process;

        // Readiness only: the tests themselves check the certificate the way real clients do.
        using var handler = new HttpClientHandler { ServerCertificateCustomValidationCallback = HttpClientHandler.DangerousAcceptAnyServerCertificateValidator };
        using var http = new HttpClient(handler) { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(2) };
        await TaskTimeouts.WaitUntilAsync(
            async () =>
            {
                if (process.HasExited)
                {
                    throw new InvalidOperationException($"The {Kind} registry exited with {process.ExitCode} while starting.");
                }

                try
                {
                    using var response = await http.GetAsync("v2/");
                    return response.StatusCode is HttpStatusCode.OK or HttpStatusCode.Unauthorized;
                }
                catch (HttpRequestException)
                {
                    return false;
                }
                catch (TaskCanceledException)
                {
                    return false;
                }
            },
            // Generous: on a loaded 2-core CI machine a cold start (JIT, first TLS handshake, PBKDF2 of the
            // initial admin) has been seen to take over 30 s.
            TimeSpan.FromSeconds(90),
            $"the {Kind} registry to answer GET /v2/ on {Host}");
        _log($"{Kind} registry pid {process.Id} ready on {Host}, data {DataDir}");
    }

    /// <summary>kill -9: the process gets no chance to flush or clean up.</summary>
    public void Kill()
    {
        if (_process is { HasExited: false } process)
        {
            _log($"kill -9 {process.Id}");
            process.Kill(entireProcessTree: false);
            process.WaitForExit();
        }
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        Kill();
        _process?.Dispose();
        _process = null;
        try
        {
            Directory.Delete(DataDir, recursive: true);
            if (Kind == RegistryKind.Distribution)
            {
                File.Delete(DataDir + ".yml");
            }
        }
        catch (IOException)
        {
            // Best effort: a temp directory left behind is harmless.
        }

        return ValueTask.CompletedTask;
    }

    private ProcessStartInfo BerthStartInfo()
    {
        var info = new ProcessStartInfo("dotnet");
        info.ArgumentList.Add(FindBerthRegistryDll());
        info.ArgumentList.Add("--urls");
        info.ArgumentList.Add(BaseAddress.ToString().TrimEnd('/'));
        info.ArgumentList.Add("--data-dir");
        info.ArgumentList.Add(DataDir);
        info.ArgumentList.Add($"--Registry:Auth:Enabled={(_options.Auth ? "true" : "false")}");
        if (_options.TlsCertificate is not null)
        {
            info.ArgumentList.Add("--tls-cert");
            info.ArgumentList.Add(_options.TlsCertificate);
            info.ArgumentList.Add("--tls-key");
            info.ArgumentList.Add(_options.TlsKey ?? throw new InvalidOperationException("A TLS certificate needs its key."));
        }
        foreach (var argument in _options.Arguments ?? [])
        {
            info.ArgumentList.Add(argument);
        }

        info.Environment["DOTNET_ENVIRONMENT"] = "Production";
        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        return info;
    }

    private ProcessStartInfo DistributionStartInfo()
    {
        const string binary = "/usr/bin/docker-registry";
        if (!File.Exists(binary))
        {
            throw new InvalidOperationException("CNCF distribution is not installed: apt-get install -y docker-registry");
        }

        var config = DataDir + ".yml";
        File.WriteAllText(config, $"""
            version: 0.1
            log:
              level: warn
            storage:
              filesystem:
                rootdirectory: {DataDir}
              delete:
                enabled: true
            http:
              addr: {Host}
              secret: berth-system-tests
            """);
        var info = new ProcessStartInfo(binary);
        info.ArgumentList.Add("serve");
        info.ArgumentList.Add(config);
        return info;
    }

    // The test project references src/Registry, but its own output folder carries the test host's deps.json; the
    // registry's build output is the faithful thing to run. Same configuration as the tests (Release under test.sh).
    private static string FindBerthRegistryDll()
    {
        var baseDir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var framework = baseDir.Name;
        var configuration = baseDir.Parent?.Name ?? "Release";
        for (var dir = baseDir; dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Platform.sln")))
            {
                var dll = Path.Combine(dir.FullName, "src", "Registry", "bin", configuration, framework, "Berth.Registry.dll");
                if (File.Exists(dll))
                {
                    return dll;
                }

                break;
            }
        }

        var beside = Path.Combine(AppContext.BaseDirectory, "Berth.Registry.dll");
        return File.Exists(beside) ? beside : throw new FileNotFoundException("Berth.Registry.dll is not built.", beside);
    }

    private void Forward(string? line)
    {
        if (line is null)
        {
            return;
        }

        try
        {
            _log($"[registry] {line}");
        }
        catch (InvalidOperationException)
        {
            // The test that owned the output helper has finished; the line has nowhere to go.
        }
    }
}
