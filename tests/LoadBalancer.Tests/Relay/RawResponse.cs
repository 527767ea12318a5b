using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Berth.TestSupport;

namespace Berth.LoadBalancer.Tests.Relay;

/// <summary>
/// An HTTP/1.1 response read off a socket: its status line, its fields in order as sent, and its body decoded from
/// its framing. <see cref="Normalized"/> is what a client can rely on: the fields sorted (their order, and where a
/// chunked body's chunks end, are the sender's choice), names in lower case.
/// </summary>
internal sealed record RawResponse(string StatusLine, IReadOnlyList<(string Name, string Value)> Fields, byte[] Body)
{
    public string Normalized =>
        StatusLine + "\n" + string.Join("\n", Fields.Select(f => $"{f.Name.ToLowerInvariant()}: {f.Value}").Order(StringComparer.Ordinal))
        + "\n\n" + Convert.ToHexString(Body);

    public string? Field(string name) => Fields.Where(f => f.Name.Equals(name, StringComparison.OrdinalIgnoreCase)).Select(f => f.Value).FirstOrDefault();

    /// <summary>Sends <paramref name="requests"/> on one connection, in order, and reads one response to each.</summary>
    public static async Task<List<RawResponse>> ExchangeAsync(int port, params string[] requests)
    {
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, port).WithTimeout();
        var reader = new Reader(socket);
        var responses = new List<RawResponse>();
        foreach (var request in requests)
        {
            await socket.SendAsync(Encoding.ASCII.GetBytes(request), SocketFlags.None).WithTimeout();
            responses.Add(await ReadAsync(reader, request.StartsWith("HEAD ", StringComparison.Ordinal)).WithTimeout());
        }

        return responses;
    }

    /// <summary>Reads one response (skipping interim ones).</summary>
    public static async Task<RawResponse> ReadAsync(Reader reader, bool headRequest = false)
    {
        while (true)
        {
            var statusLine = await reader.LineAsync();
            var fields = new List<(string, string)>();
            for (var line = await reader.LineAsync(); line.Length > 0; line = await reader.LineAsync())
            {
                var colon = line.IndexOf(':', StringComparison.Ordinal);
                fields.Add((line[..colon], line[(colon + 1)..].Trim()));
            }

            var status = int.Parse(statusLine.Split(' ')[1], CultureInfo.InvariantCulture);
            if (status is >= 100 and < 200 and not 101)
            {
                continue;
            }

            string? Get(string name) => fields.Where(f => f.Item1.Equals(name, StringComparison.OrdinalIgnoreCase)).Select(f => f.Item2).FirstOrDefault();
            byte[] body;
            if (headRequest || status is 204 or 304 or 101)
            {
                body = [];
            }
            else if (Get("Transfer-Encoding") is { } coding && coding.EndsWith("chunked", StringComparison.OrdinalIgnoreCase))
            {
                var decoded = new List<byte>();
                while (true)
                {
                    var sizeLine = await reader.LineAsync();
                    var size = int.Parse(sizeLine.Split(';')[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                    if (size == 0)
                    {
                        while ((await reader.LineAsync()).Length > 0)
                        {
                            // Trailer fields: not part of what is compared.
                        }

                        break;
                    }

                    decoded.AddRange(await reader.BytesAsync(size));
                    await reader.LineAsync();
                }

                body = [.. decoded];
            }
            else if (Get("Content-Length") is { } length)
            {
                body = await reader.BytesAsync(int.Parse(length, CultureInfo.InvariantCulture));
            }
            else
            {
                body = await reader.RestAsync();
            }

            return new RawResponse(statusLine, fields, body);
        }
    }

    /// <summary>Buffered reads off a socket.</summary>
    internal sealed class Reader(Socket socket)
    {
        private readonly List<byte> _buffer = [];
        private readonly byte[] _chunk = new byte[8192];

        public async Task<string> LineAsync()
        {
            while (true)
            {
                for (var i = 1; i < _buffer.Count; i++)
                {
                    if (_buffer[i - 1] == '\r' && _buffer[i] == '\n')
                    {
                        var line = Encoding.ASCII.GetString([.. _buffer.GetRange(0, i - 1)]);
                        _buffer.RemoveRange(0, i + 1);
                        return line;
                    }
                }

                if (!await FillAsync())
                {
                    throw new IOException("The connection ended in the middle of a line.");
                }
            }
        }

        public async Task<byte[]> BytesAsync(int count)
        {
            while (_buffer.Count < count)
            {
                if (!await FillAsync())
                {
                    throw new IOException("The connection ended in the middle of a body.");
                }
            }

            var bytes = _buffer.GetRange(0, count).ToArray();
            _buffer.RemoveRange(0, count);
            return bytes;
        }

        public async Task<byte[]> RestAsync()
        {
            while (await FillAsync())
            {
            }

            var bytes = _buffer.ToArray();
            _buffer.Clear();
            return bytes;
        }

        /// <summary>Whether the connection is closed, with nothing more buffered.</summary>
        public async Task<bool> ClosedAsync() => _buffer.Count == 0 && !await FillAsync();

        private async Task<bool> FillAsync()
        {
            var n = await socket.ReceiveAsync(_chunk, SocketFlags.None);
            _buffer.AddRange(_chunk.AsSpan(0, n));
            return n > 0;
        }
    }
}
