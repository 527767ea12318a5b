using System.Net;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Berth.ServiceDefaults;

/// <summary>
/// <c>GET /healthz</c> and <c>GET /readyz</c> over <see cref="HttpListener"/> for a worker service: the same checks,
/// tags and JSON body as the web services' endpoints. Requests are answered one at a time; probes are rare and cheap.
/// </summary>
internal sealed partial class HealthListener(HealthCheckService health, IOptions<HealthListenerOptions> options, ILogger<HealthListener> logger) : BackgroundService
{
    private HttpListener? _listener;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        var prefix = options.Value.Url!;
        _listener = new HttpListener();
        _listener.Prefixes.Add(prefix.EndsWith('/') ? prefix : prefix + "/");
        // Fails the start (and so the service) when the address is taken: a probe address that silently serves
        // nothing would make the orchestrator restart a healthy service.
        _listener.Start();
        LogListening(logger, prefix);
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var listener = _listener!;
        using var stop = stoppingToken.Register(listener.Stop);
        while (!stoppingToken.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException && stoppingToken.IsCancellationRequested)
            {
                return;
            }

            await AnswerAsync(context, stoppingToken);
        }
    }

    public override void Dispose()
    {
        (_listener as IDisposable)?.Dispose();
        base.Dispose();
    }

    private async Task AnswerAsync(HttpListenerContext context, CancellationToken cancellationToken)
    {
        var response = context.Response;
        try
        {
            var tag = context.Request.Url?.AbsolutePath switch
            {
                BerthHealth.LivenessPath => BerthHealth.Live,
                BerthHealth.ReadinessPath => BerthHealth.Ready,
                _ => null,
            };
            if (tag is null || context.Request.HttpMethod is not ("GET" or "HEAD"))
            {
                response.StatusCode = tag is null ? 404 : 405;
                return;
            }

            var report = await health.CheckHealthAsync(r => r.Tags.Contains(tag), cancellationToken);
            response.StatusCode = HealthReportWriter.StatusCode(report.Status);
            response.ContentType = "application/json; charset=utf-8";
            response.Headers["Cache-Control"] = "no-store";
            if (context.Request.HttpMethod == "GET")
            {
                await HealthReportWriter.WriteAsync(response.OutputStream, report, cancellationToken);
            }
        }
        catch (Exception e) when (e is HttpListenerException or IOException or OperationCanceledException)
        {
            // The prober went away or the service is stopping: nothing to answer.
        }
        finally
        {
            try
            {
                response.Close();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
            {
            }
        }
    }

    [LoggerMessage(1, LogLevel.Information, "Health endpoints on {Prefix} (healthz, readyz)")]
    private static partial void LogListening(ILogger logger, string prefix);
}
