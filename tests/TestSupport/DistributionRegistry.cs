using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;

namespace Berth.TestSupport;

/// <summary>
/// Debian's docker-registry (the CNCF distribution registry) on a free port of loopback (or of the address given, e.g. a lab's root leg): a real registry to pull
/// from without depending on our own registry's branch. With <c>loopbackToo</c> it listens on every address, so the machine's
/// own engine pushes through <see cref="LoopbackAddress"/> (loopback registries are insecure to it) what lab hosts pull
/// through <see cref="Address"/> (their engines trust the lab's addresses).
/// </summary>
public sealed partial class DistributionRegistry : IAsyncDisposable
{
    private readonly Process _process;
    private readonly DirectoryInfo _root;
    private readonly Action<string> _log;

    private DistributionRegistry(Process process, DirectoryInfo root, Action<string> log, string address, string loopbackAddress)
    {
        _process = process;
        _root = root;
        _log = log;
        Address = address;
        LoopbackAddress = loopbackAddress;
    }

    /// <summary>host:port as <c>host</c> was given.</summary>
    public string Address { get; }

    /// <summary>127.0.0.1:port when it listens there too (<c>loopbackToo</c>, or <c>host</c> is loopback), else <see cref="Address"/>.</summary>
    public string LoopbackAddress { get; }

    public static async Task<DistributionRegistry> StartAsync(Action<string> log, string host = "127.0.0.1", bool loopbackToo = false)
    {
        var binary = "/usr/bin/docker-registry";
        if (!File.Exists(binary))
        {
            throw new InvalidOperationException("docker-registry is not installed: apt-get install -y docker-registry");
        }

        var port = TestPorts.Next(host);
        var root = Directory.CreateTempSubdirectory("berth-registry-");
        var config = Path.Combine(root.FullName, "config.yml");
        await File.WriteAllTextAsync(config, $"""
            version: 0.1
            log:
              level: warn
            storage:
              filesystem:
                rootdirectory: {root.FullName}/data
              delete:
                enabled: true
            http:
              addr: {(loopbackToo ? "0.0.0.0" : host)}:{port}
            """);
        var process = Process.Start(new ProcessStartInfo(binary) { ArgumentList = { "serve", config }, RedirectStandardError = true, RedirectStandardOutput = true })!;
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { log(e.Data); } };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { log(e.Data); } };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        var address = $"{host}:{port}";
        using var http = new HttpClient();
        await TaskTimeouts.WaitUntilAsync(async () =>
        {
            try
            {
                return (await http.GetAsync($"http://{address}/v2/")).StatusCode == HttpStatusCode.OK;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(20), "docker-registry to answer");
        return new DistributionRegistry(process, root, log, address, loopbackToo ? $"127.0.0.1:{port}" : address);
    }

    /// <summary>
    /// Pushes the busybox test image (<see cref="TestImages.Busybox"/>, imported first where the engine lacks it) to this
    /// registry as <paramref name="name"/> (<c>repository:tag</c>) from the engine at <paramref name="engine"/>: the
    /// machine's own when null, which reaches the registry through <see cref="LoopbackAddress"/> (loopback registries are
    /// insecure to it), else a lab host's, which reaches it through <see cref="Address"/>. The tag the push needed is
    /// removed again, so that the engine, like any other, pulls the image from the registry.
    /// </summary>
    /// <returns>The image as hosts pull it (<see cref="Address"/>/<paramref name="name"/>) and the manifest digest the push reported.</returns>
    public async Task<PushedImage> PushAsync(string? engine, string name)
    {
        await TestImages.EnsureBusyboxAsync(engine, _log);
        var pushed = $"{(engine is null ? LoopbackAddress : Address)}/{name}";
        (await DockerAsync(engine, "tag", TestImages.Busybox, pushed)).EnsureSuccess("docker tag");
        var push = (await DockerAsync(engine, "push", pushed)).EnsureSuccess("docker push");
        (await DockerAsync(engine, "rmi", pushed)).EnsureSuccess("docker rmi");
        var digest = PushedDigest().Match(push.StandardOutput) is { Success: true } m
            ? m.Groups[1].Value
            : throw new InvalidOperationException($"docker push printed no digest:\n{push.StandardOutput}");
        return new PushedImage($"{Address}/{name}", digest);
    }

    private Task<ProcessResult> DockerAsync(string? engine, params string[] arguments) =>
        ProcessRunner.RunAsync("docker", engine is null ? arguments : ["-H", engine, .. arguments], TimeSpan.FromSeconds(120), log: _log);

    // The last line of `docker push`: "TAG: digest: sha256:... size: N".
    [GeneratedRegex(@"digest: (sha256:[0-9a-f]{64})")]
    private static partial Regex PushedDigest();

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        _root.Delete(recursive: true);
    }
}

/// <summary>An image <see cref="DistributionRegistry.PushAsync"/> pushed: its reference as hosts pull it, and its manifest digest.</summary>
public sealed record PushedImage(string Reference, string Digest);
