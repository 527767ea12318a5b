using Berth.Core.IO;
using Berth.LoadBalancer.Hosting;
using Microsoft.Extensions.Options;

namespace Berth.LoadBalancer.State;

/// <summary>
/// The one owner of the paths under <c>--data-dir</c>. Everything there is a cache of what the scheduler holds:
/// <c>config.pb</c> (the last configuration applied, a <c>ConfigSnapshot</c>, with the HTTPS listeners' certificates
/// and keys) and <c>replica-id</c> — and one record that is not a cache: <c>task-routes</c>, the routes to task subnets
/// this balancer added to the kernel's table (the only ones it ever removes).
/// </summary>
internal sealed class DataDirectory
{
    public DataDirectory(IOptions<BalancerOptions> options)
    {
        // Owner-only, as every part's data directory (Core/IO/PrivateDirectory): config.pb holds the listeners'
        // private keys. Modes left looser by an earlier version are tightened here.
        Root = PrivateDirectory.Ensure(options.Value.DataDirectory!);
        PrivateDirectory.Tighten(ConfigCache);
        PrivateDirectory.Tighten(ReplicaIdFile);

        // An earlier version wrote HTTPS certificates and keys as PEM files under certs/; the handshake now takes them
        // from memory, so old keys are not left lying around.
        var legacyCertificates = Path.Combine(Root, "certs");
        if (Directory.Exists(legacyCertificates))
        {
            Directory.Delete(legacyCertificates, recursive: true);
        }
    }

    public string Root { get; }

    public string ConfigCache => Path.Combine(Root, "config.pb");

    public string ReplicaIdFile => Path.Combine(Root, "replica-id");

    public string TaskRoutesFile => Path.Combine(Root, "task-routes");


    /// <summary>This replica's id: made once, kept across restarts.</summary>
    public string ReplicaId()
    {
        if (File.Exists(ReplicaIdFile))
        {
            var known = File.ReadAllText(ReplicaIdFile).Trim();
            if (known.Length > 0)
            {
                return known;
            }
        }

        var id = $"{Environment.MachineName}-{Guid.NewGuid().ToString("N")[..12]}";
        WriteAtomically(ReplicaIdFile, System.Text.Encoding.UTF8.GetBytes(id));
        return id;
    }

    /// <summary>Write to a temporary file (0600), fsync, rename: a crash leaves the old file or the new one, never half.</summary>
    public static void WriteAtomically(string path, ReadOnlySpan<byte> content) =>
        OwnerOnlyFile.WriteAtomic(path, content, durable: true);
}
