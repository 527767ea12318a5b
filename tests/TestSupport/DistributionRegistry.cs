using System.Diagnostics;
using System.Net;

namespace Berth.TestSupport;

/// <summary>
/// Debian's docker-registry (the CNCF distribution registry) on a free port of loopback (or of the address given, e.g. a lab's root leg): a real registry to pull
/// from without depending on our own registry's branch. With <c>loopbackToo</c> it listens on every address, so the machine's
/// own engine pushes through <see cref="LoopbackAddress"/> (loopback registries are insecure to it) what lab hosts pull
/// through <see cref="Address"/> (their engines trust the lab's addresses).
/// </summary>
public sealed class DistributionRegistry : IAsyncDisposable
{
    private readonly Process _process;
    private readonly DirectoryInfo _root;

    private DistributionRegistry(Process process, DirectoryInfo root, string address, string loopbackAddress)
    {
        _process = process;
        _root = root;
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
        return new DistributionRegistry(process, root, address, loopbackToo ? $"127.0.0.1:{port}" : address);
    }

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
