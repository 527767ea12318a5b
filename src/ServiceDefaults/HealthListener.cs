using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Berth.ServiceDefaults;

/// <summary>
/// <c>GET /healthz</c> and <c>GET /readyz</c> for a worker service: the same checks, tags and JSON body as the web
/// services' endpoints, one HTTP/1.1 exchange per connection (<c>Connection: close</c>), answered one at a time; probes
/// are rare and cheap. On a plain <see cref="TcpListener"/> rather than <see cref="HttpListener"/>: the managed
/// <c>HttpListener</c> on Linux throws from <c>Start()</c> when a client connects while it starts (its first accept
/// completes inside its constructor and locks a field not yet assigned; dotnet/corefx#35191), so a probe arriving at the
/// moment the agent started took the agent down.
/// </summary>
internal sealed partial class HealthListener(HealthCheckService health, IOptions<HealthListenerOptions> options, ILogger<HealthListener> logger) : BackgroundService
{
    /// <summary>The most a request head may take: a probe's is a few hundred bytes.</summary>
    private const int MaxHead = 8 * 1024;

    /// <summary>How long a connection may take to send its request head, so a stuck client cannot block the next probe.</summary>
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(5);

    private TcpListener? _listener;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        var url = options.Value.Url!;
        var uri = new Uri(url);
        if (uri.Scheme != Uri.UriSchemeHttp)
        {
            throw new InvalidOperationException($"Health:Url must be an http:// address, not '{url}'.");
        }

        var address = uri.Host switch
        {
            "+" or "*" or "0.0.0.0" => IPAddress.Any,
            "localhost" => IPAddress.Loopback,
            var host => IPAddress.TryParse(host.Trim('[', ']'), out var parsed)
                ? parsed
                : throw new InvalidOperationException($"Health:Url must name an IP address, localhost or *, not '{host}'."),
        };
        _listener = new TcpListener(address, uri.Port);
        // Fails the start (and so the service) when the address is taken: a probe address that silently serves
        // nothing would make the orchestrator restart a healthy service.
        _listener.Start();
        LogListening(logger, url);
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var listener = _listener!;
        using var stop = stoppingToken.Register(listener.Stop);
        while (!stoppingToken.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await listener.AcceptTcpClientAsync(stoppingToken);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException && stoppingToken.IsCancellationRequested)
            {
                return;
            }

            using (client)
            {
                await AnswerAsync(client.GetStream(), stoppingToken);
            }
        }
    }

    public override void Dispose()
    {
        _listener?.Dispose();
        base.Dispose();
    }

    private async Task AnswerAsync(NetworkStream stream, CancellationToken stoppingToken)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            timeout.CancelAfter(ReadTimeout);
            var (method, path) = await ReadRequestLineAsync(stream, timeout.Token);
            if (method is null)
            {
                await WriteAsync(stream, 400, null, stoppingToken);
                return;
            }

            var tag = path switch
            {
                BerthHealth.LivenessPath => BerthHealth.Live,
                BerthHealth.ReadinessPath => BerthHealth.Ready,
                _ => null,
            };
            if (tag is null || method is not ("GET" or "HEAD"))
            {
                await WriteAsync(stream, tag is null ? 404 : 405, null, stoppingToken);
                return;
            }

            var report = await health.CheckHealthAsync(r => r.Tags.Contains(tag), stoppingToken);
            using var body = new MemoryStream();
            await HealthReportWriter.WriteAsync(body, report, stoppingToken);
            await WriteAsync(stream, HealthReportWriter.StatusCode(report.Status), method == "GET" ? body : null, stoppingToken, body.Length);
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException)
        {
            // The prober went away, was too slow, or the service is stopping: nothing to answer.
        }
    }

    /// <summary>
    /// Reads the request head up to its blank line and returns the method and the path without its query; nulls when
    /// it is not an HTTP/1.x request line or the head is too long.
    /// </summary>
    internal static async Task<(string? Method, string? Path)> ReadRequestLineAsync(Stream stream, CancellationToken cancellationToken)
    {
        var buffer = new byte[MaxHead];
        var length = 0;
        while (true)
        {
            var read = await stream.ReadAsync(buffer.AsMemory(length), cancellationToken);
            if (read == 0)
            {
                return (null, null);
            }

            length += read;
            var head = buffer.AsSpan(0, length);
            if (head.IndexOf("\r\n\r\n"u8) >= 0 || head.IndexOf("\n\n"u8) >= 0)
            {
                break;
            }

            if (length == buffer.Length)
            {
                return (null, null);
            }
        }

        var text = Encoding.ASCII.GetString(buffer, 0, length);
        var line = text[..text.IndexOf('\n', StringComparison.Ordinal)].TrimEnd('\r');
        var parts = line.Split(' ');
        if (parts.Length != 3 || !parts[2].StartsWith("HTTP/1.", StringComparison.Ordinal) || parts[0].Length == 0)
        {
            return (null, null);
        }

        var target = parts[1];
        // An absolute form (http://host:port/healthz) is allowed by HTTP/1.1; probes send the origin form.
        if (Uri.TryCreate(target, UriKind.Absolute, out var absolute) && absolute.Scheme is "http" or "https")
        {
            target = absolute.AbsolutePath;
        }

        var query = target.IndexOf('?', StringComparison.Ordinal);
        return (parts[0], query < 0 ? target : target[..query]);
    }

    private static async Task WriteAsync(Stream stream, int status, MemoryStream? body, CancellationToken cancellationToken, long contentLength = 0)
    {
        var reason = status switch
        {
            200 => "OK",
            400 => "Bad Request",
            404 => "Not Found",
            405 => "Method Not Allowed",
            503 => "Service Unavailable",
            _ => "Status",
        };
        var head = new StringBuilder()
            .Append(System.Globalization.CultureInfo.InvariantCulture, $"HTTP/1.1 {status} {reason}\r\n")
            .Append("Connection: close\r\n")
            .Append("Cache-Control: no-store\r\n");
        if (status is 200 or 503)
        {
            head.Append("Content-Type: application/json; charset=utf-8\r\n");
        }

        head.Append(System.Globalization.CultureInfo.InvariantCulture, $"Content-Length: {(status is 200 or 503 ? contentLength : 0)}\r\n\r\n");
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head.ToString()), cancellationToken);
        if (body is not null)
        {
            body.Position = 0;
            await body.CopyToAsync(stream, cancellationToken);
        }

        await stream.FlushAsync(cancellationToken);
    }

    [LoggerMessage(1, LogLevel.Information, "Health endpoints on {Prefix} (healthz, readyz)")]
    private static partial void LogListening(ILogger logger, string prefix);
}
