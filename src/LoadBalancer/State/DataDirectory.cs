using Berth.Core.IO;
using Berth.LoadBalancer.Hosting;
using Microsoft.Extensions.Options;

namespace Berth.LoadBalancer.State;

/// <summary>
/// The one owner of the paths under <c>--data-dir</c>. Everything there is a cache of what the scheduler holds:
/// <c>config.pb</c> (the last configuration applied, a <c>ConfigSnapshot</c>), <c>replica-id</c>, and
/// <c>certs/</c> (PEM files Kestrel loads for HTTPS listeners, named by content hash).
/// </summary>
internal sealed class DataDirectory
{
    public DataDirectory(IOptions<BalancerOptions> options)
    {
        // Owner-only, as every part's data directory (Core/IO/PrivateDirectory): certs/ holds the listeners' private
        // keys. Modes left looser by an earlier version are tightened here.
        Root = PrivateDirectory.Ensure(options.Value.DataDirectory!);
        PrivateDirectory.Ensure(Certificates);
        PrivateDirectory.Tighten(ConfigCache);
        PrivateDirectory.Tighten(ReplicaIdFile);
        foreach (var file in Directory.EnumerateFiles(Certificates))
        {
            PrivateDirectory.Tighten(file);
        }
    }

    public string Root { get; }

    public string ConfigCache => Path.Combine(Root, "config.pb");

    public string ReplicaIdFile => Path.Combine(Root, "replica-id");

    public string Certificates => Path.Combine(Root, "certs");

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
