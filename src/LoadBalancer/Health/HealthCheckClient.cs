using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using Berth.LoadBalancer.Model;

namespace Berth.LoadBalancer.Health;

/// <summary>One health check of one target, with ELB's outcomes and reason codes.</summary>
internal sealed class HealthCheckClient : IDisposable
{
    private static readonly byte[] s_emptyGrpcMessage = new byte[5];
    private readonly HttpMessageInvoker _http = new(new SocketsHttpHandler
    {
        AllowAutoRedirect = false,
        UseCookies = false,
        UseProxy = false,
        AutomaticDecompression = DecompressionMethods.None,
        // Checks run every few seconds per target: keeping the connection saves a handshake per check, and a
        // target that stopped accepting still fails the next check (a dead pooled connection is retried once).
        PooledConnectionIdleTimeout = TimeSpan.FromSeconds(60),
        ConnectTimeout = Timeout.InfiniteTimeSpan,
        // ELB does not verify target certificates; neither do we (targets are registered by the platform itself).
#pragma warning disable CA5359
        SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true },
#pragma warning restore CA5359
    });

    /// <summary>
    /// Checks <paramref name="target"/>. <paramref name="timeout"/> fires after the group's timeout (it carries the
    /// injected clock); <paramref name="stopping"/> ends the check without an outcome.
    /// </summary>
    public async Task<ProbeResult> CheckAsync(TargetGroupModel group, TargetModel target, CancellationToken timeout, CancellationToken stopping)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout, stopping);
        var check = group.HealthCheck;
        var port = check.Port ?? target.Port;
        try
        {
            if (check.Protocol == HealthCheckProtocol.Tcp)
            {
                using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
                await socket.ConnectAsync(target.Host, port, linked.Token);
                return ProbeResult.Passed;
            }

            var scheme = check.Protocol == HealthCheckProtocol.Https ? "https" : "http";
            var host = target.Host.Contains(':', StringComparison.Ordinal) ? $"[{target.Host}]" : target.Host;
            var uri = new Uri($"{scheme}://{host}:{port.ToString(CultureInfo.InvariantCulture)}{check.Path}");
            return group.ProtocolVersion == TargetProtocolVersion.Grpc
                ? await GrpcCheckAsync(uri, check, linked.Token)
                : await HttpCheckAsync(uri, check, group.ProtocolVersion, linked.Token);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !stopping.IsCancellationRequested)
        {
            return ProbeResult.Failed(ReasonCodes.Timeout, "Request timed out");
        }
        catch (Exception ex) when (ex is HttpRequestException or SocketException or IOException)
        {
            return ProbeResult.Failed(ReasonCodes.FailedHealthChecks, $"Health checks failed: {Innermost(ex).Message}");
        }
    }

    private async Task<ProbeResult> HttpCheckAsync(Uri uri, HealthCheckModel check, TargetProtocolVersion version, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, uri)
        {
            Version = version == TargetProtocolVersion.Http2 ? HttpVersion.Version20 : HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        request.Headers.UserAgent.Add(new ProductInfoHeaderValue("ELB-HealthChecker", "2.0"));
        using var response = await _http.SendAsync(request, ct);
        // Read (and drop) the body, as a check that only saw headers would pass a target that breaks mid-response.
        await response.Content.CopyToAsync(Stream.Null, ct);
        var code = (int)response.StatusCode;
        return check.Matcher.Matches(code)
            ? ProbeResult.Passed
            : ProbeResult.Failed(ReasonCodes.ResponseCodeMismatch, $"Health checks failed with these codes: [{code}]");
    }

    /// <summary>A unary gRPC call with an empty message; the grpc-status is matched against <c>grpc_code</c>, as ELB.</summary>
    private async Task<ProbeResult> GrpcCheckAsync(Uri uri, HealthCheckModel check, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, uri)
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(s_emptyGrpcMessage),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        request.Headers.TryAddWithoutValidation("te", "trailers");
        request.Headers.UserAgent.Add(new ProductInfoHeaderValue("ELB-HealthChecker", "2.0"));
        using var response = await _http.SendAsync(request, ct);
        await response.Content.CopyToAsync(Stream.Null, ct);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            return ProbeResult.Failed(ReasonCodes.ResponseCodeMismatch, $"Health checks failed with these codes: [{(int)response.StatusCode}]");
        }

        var status = response.TrailingHeaders.TryGetValues("grpc-status", out var t) ? t.FirstOrDefault()
            : response.Headers.TryGetValues("grpc-status", out var h) ? h.FirstOrDefault() : null;
        return int.TryParse(status, NumberStyles.None, CultureInfo.InvariantCulture, out var code) && check.Matcher.Matches(code)
            ? ProbeResult.Passed
            : ProbeResult.Failed(ReasonCodes.ResponseCodeMismatch, $"Health checks failed with these gRPC codes: [{status ?? "none"}]");
    }

    private static Exception Innermost(Exception ex)
    {
        while (ex.InnerException is not null)
        {
            ex = ex.InnerException;
        }

        return ex;
    }

    public void Dispose() => _http.Dispose();
}
