using System.Net;
using System.Net.Sockets;

namespace Berth.TestSupport;

/// <summary>
/// Ports for servers a test starts later (a registry, a scheduler, a balancer's listener, a published task port): free
/// when handed out, and handed out to nobody else — not to a port-0 bind, not to another test in this process, not to
/// another test assembly running beside it.
/// </summary>
/// <remarks>
/// The old way, binding port 0 and releasing it, raced: the kernel hands the released port to the next port-0 bind (a
/// target server, an HttpClient's connection, another assembly's copy of the same trick) before the server named it
/// bound it, and CI saw "address already in use". So ports come from below Linux's ephemeral range (32768-60999, where
/// port-0 binds and outgoing connections never land), each checked by a bind, and each claimed for the life of this
/// process by a lock on <c>/tmp/berth-test-ports/PORT</c>: the test assemblies run as parallel processes, and the lock
/// (released by the kernel when the process ends, however it ends) keeps two of them from handing out the same port.
/// Each process starts at its own slice of the range (chosen from its id), so they seldom even meet a lock.
/// </remarks>
public static class TestPorts
{
    private const int FirstPort = 20000;
    private const int PortCount = 12000;
    private const int Slices = 24;

    private static readonly string s_lockDirectory = Path.Combine(Path.GetTempPath(), "berth-test-ports");
    private static readonly Lock s_lock = new();

    // Held until the process exits: closing one would let another process take the port while our server still uses it.
    private static readonly List<FileStream> s_claims = [];

    // This process's slice start; a random offset inside it so runs one after another do not meet ports in TIME_WAIT.
    private static int s_next = Environment.ProcessId % Slices * (PortCount / Slices) + Random.Shared.Next(PortCount / Slices);

    /// <summary>A free port on loopback.</summary>
    public static int Next() => Next(IPAddress.Loopback);

    /// <summary>A free port on <paramref name="address"/> (a lab namespace's root address, say).</summary>
    public static int Next(string address) => Next(IPAddress.Parse(address));

    /// <summary>A free port on <paramref name="address"/>.</summary>
    public static int Next(IPAddress address)
    {
        Directory.CreateDirectory(s_lockDirectory);
        lock (s_lock)
        {
            for (var tried = 0; tried < PortCount; tried++)
            {
                var port = FirstPort + (s_next++ % PortCount);
                if (Claim(port) is not { } claim)
                {
                    continue;
                }

                if (IsFree(address, port))
                {
                    s_claims.Add(claim);
                    return port;
                }

                // Bound by something outside the tests: leave it (and its lock) alone.
                claim.Dispose();
            }
        }

        throw new InvalidOperationException($"No free port between {FirstPort} and {FirstPort + PortCount - 1} on {address}.");
    }

    // An exclusive lock on the port's file (.NET takes flock(LOCK_EX | LOCK_NB) for FileShare.None on Unix); null when
    // another test process holds it.
    private static FileStream? Claim(int port)
    {
        try
        {
            return new FileStream(Path.Combine(s_lockDirectory, port.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static bool IsFree(IPAddress address, int port)
    {
        try
        {
            using var listener = new TcpListener(address, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
