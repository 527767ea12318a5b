using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Berth.LoadBalancer.Relay.Loops;

/// <summary>
/// recv(2) and send(2) on a loop socket's descriptor, without <see cref="Socket"/>'s checks and handle reference counts
/// around each call: a loop socket is used and closed on its loop's thread only, so its descriptor cannot be closed
/// under a call. Errors as <see cref="SocketError"/>, as Socket reports them.
/// </summary>
internal static unsafe partial class SocketCalls
{
    // No SIGPIPE for a send to a connection the peer closed: EPIPE instead, as .NET's own sends.
    private const int NoSignal = 0x4000;

    public static int Receive(int fd, Span<byte> buffer, out SocketError error)
    {
        fixed (byte* bytes = buffer)
        {
            while (true)
            {
                var n = recv(fd, bytes, buffer.Length, 0);
                if (n >= 0)
                {
                    error = SocketError.Success;
                    return (int)n;
                }

                var errno = Marshal.GetLastPInvokeError();
                if (errno != EINTR)
                {
                    error = ToSocketError(errno);
                    return 0;
                }
            }
        }
    }

    public static int Send(int fd, ReadOnlySpan<byte> buffer, out SocketError error)
    {
        fixed (byte* bytes = buffer)
        {
            while (true)
            {
                var n = send(fd, bytes, buffer.Length, NoSignal);
                if (n >= 0)
                {
                    error = SocketError.Success;
                    return (int)n;
                }

                var errno = Marshal.GetLastPInvokeError();
                if (errno != EINTR)
                {
                    error = ToSocketError(errno);
                    return 0;
                }
            }
        }
    }

    private const int EINTR = 4;

    // Linux's errno values for what a stream socket's recv or send can fail with, as .NET maps them.
    private static SocketError ToSocketError(int errno) => errno switch
    {
        11 => SocketError.WouldBlock,
        32 => SocketError.Shutdown,
        101 => SocketError.NetworkUnreachable,
        103 => SocketError.ConnectionAborted,
        104 => SocketError.ConnectionReset,
        107 => SocketError.NotConnected,
        110 => SocketError.TimedOut,
        111 => SocketError.ConnectionRefused,
        113 => SocketError.HostUnreachable,
        9 => SocketError.OperationAborted,
        _ => SocketError.SocketError,
    };

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint recv(int fd, byte* buffer, nint length, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint send(int fd, byte* buffer, nint length, int flags);
}
