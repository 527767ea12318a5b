using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Berth.LoadBalancer.Tests.Relay;

/// <summary>
/// An HTTP/1.1 target written on a socket, so that its answers are exactly the bytes a test wants: every framing
/// (Content-Length, chunked with and without trailers, ended by closing, none for 204, 304 and HEAD), an interim 103,
/// hop-by-hop fields, a reason phrase of its own. <c>/head</c> answers the request head it received, <c>/body</c> the
/// request body.
/// </summary>
internal sealed class RawTarget : IAsyncDisposable
{
    /// <summary>A fixed Date, so that answers compare byte for byte.</summary>
    public const string Date = "Sat, 05 Dec 2026 07:00:00 GMT";

    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;

    private RawTarget()
    {
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public static RawTarget Start() => new();

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting.ContinueWith(_ => { }, TaskScheduler.Default);
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var socket = await _listener.AcceptSocketAsync(_stop.Token);
            _ = ServeAsync(socket);
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        using var owned = socket;
        var buffer = new List<byte>();
        var chunk = new byte[4096];
        try
        {
            while (true)
            {
                int end;
                while ((end = IndexOfBlankLine(buffer)) < 0)
                {
                    var n = await socket.ReceiveAsync(chunk, SocketFlags.None, _stop.Token);
                    if (n == 0)
                    {
                        return;
                    }

                    buffer.AddRange(chunk.AsSpan(0, n));
                }

                var head = Encoding.ASCII.GetString([.. buffer.GetRange(0, end)]);
                buffer.RemoveRange(0, end);
                var length = head.Split("\r\n").Select(l => l.Split(':', 2)).Where(p => p.Length == 2 && p[0].Trim().Equals("Content-Length", StringComparison.OrdinalIgnoreCase)).Select(p => int.Parse(p[1].Trim(), System.Globalization.CultureInfo.InvariantCulture)).FirstOrDefault();
                while (buffer.Count < length)
                {
                    var n = await socket.ReceiveAsync(chunk, SocketFlags.None, _stop.Token);
                    if (n == 0)
                    {
                        return;
                    }

                    buffer.AddRange(chunk.AsSpan(0, n));
                }

                var body = buffer.GetRange(0, length).ToArray();
                buffer.RemoveRange(0, length);
                var requestLine = head[..head.IndexOf("\r\n", StringComparison.Ordinal)].Split(' ');
                var isHead = requestLine[0] == "HEAD";
                foreach (var part in Answer(requestLine[1].Split('?')[0], head, body, isHead))
                {
                    await socket.SendAsync(part, SocketFlags.None, _stop.Token);
                }

                if (requestLine[1] == "/close")
                {
                    socket.Shutdown(SocketShutdown.Both);
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }

    // Each answer in the pieces it is sent in: chunked bodies split mid-chunk, to cross the relay's reads.
    private static IEnumerable<byte[]> Answer(string path, string head, byte[] body, bool isHead)
    {
        var common = $"Date: {Date}\r\nServer: raw\r\n";
        switch (path)
        {
            case "/len":
                yield return Ascii($"HTTP/1.1 200 OK\r\n{common}Content-Type: text/plain\r\nContent-Length: 5\r\nX-Custom: a\r\nX-Custom: b\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\n{(isHead ? "" : "hello")}");
                break;
            case "/chunked":
                yield return Ascii($"HTTP/1.1 200 OK\r\n{common}Content-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel");
                yield return Ascii("lo\r\n6;ext=1\r\n world\r\n0\r\n\r\n");
                break;
            case "/trailers":
                yield return Ascii($"HTTP/1.1 200 OK\r\n{common}Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n");
                yield return Ascii("X-Trailer: t\r\n\r\n");
                break;
            case "/close":
                yield return Ascii($"HTTP/1.1 200 OK\r\n{common}Content-Type: text/plain\r\nConnection: close\r\n\r\nuntil ");
                yield return Ascii("close");
                break;
            case "/204":
                yield return Ascii($"HTTP/1.1 204 No Content\r\n{common}X-A: 1\r\n\r\n");
                break;
            case "/304":
                yield return Ascii($"HTTP/1.1 304 Not Modified\r\n{common}ETag: \"v1\"\r\n\r\n");
                break;
            case "/early":
                yield return Ascii("HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n");
                yield return Ascii($"HTTP/1.1 200 OK\r\n{common}Content-Length: 2\r\n\r\nok");
                break;
            case "/reason":
                yield return Ascii($"HTTP/1.1 404 Nothing Here\r\n{common}Content-Length: 0\r\n\r\n");
                break;
            case "/head":
                var text = Encoding.ASCII.GetBytes(head);
                yield return Ascii($"HTTP/1.1 200 OK\r\n{common}Content-Length: {text.Length}\r\n\r\n");
                yield return text;
                break;
            default:
                yield return Ascii($"HTTP/1.1 200 OK\r\n{common}Content-Type: application/octet-stream\r\nContent-Length: {body.Length}\r\n\r\n");
                yield return body;
                break;
        }
    }

    private static byte[] Ascii(string text) => Encoding.ASCII.GetBytes(text);

    private static int IndexOfBlankLine(List<byte> buffer)
    {
        for (var i = 3; i < buffer.Count; i++)
        {
            if (buffer[i - 3] == '\r' && buffer[i - 2] == '\n' && buffer[i - 1] == '\r' && buffer[i] == '\n')
            {
                return i + 1;
            }
        }

        return -1;
    }
}
