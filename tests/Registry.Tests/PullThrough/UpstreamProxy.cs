using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Berth.Registry.Tests.PullThrough;

/// <summary>
/// A real HTTP server on loopback in front of an upstream registry: it forwards every request, counts them, and on
/// demand lies (changes a byte of every blob or manifest body it forwards) or holds blob GETs until released.
/// </summary>
public sealed class UpstreamProxy : IAsyncDisposable
{
    private static readonly string[] s_forwardedResponseHeaders = ["Docker-Content-Digest", "WWW-Authenticate", "Docker-Distribution-API-Version", "Location"];

    private readonly WebApplication _app;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromMinutes(2) };
    private readonly Uri _target;

    private UpstreamProxy(WebApplication app, Uri target)
    {
        _app = app;
        _target = target;
    }

    /// <summary>The proxy's base address, to give the cache rule as its upstream.</summary>
    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>Requests seen, by "METHOD /path".</summary>
    public ConcurrentDictionary<string, int> Requests { get; } = new(StringComparer.Ordinal);

    /// <summary>Change a byte of every blob body forwarded.</summary>
    public bool LieAboutBlobs { get; set; }

    /// <summary>Change a byte of every manifest body forwarded (GET by digest included).</summary>
    public bool LieAboutManifests { get; set; }

    /// <summary>While set, a blob GET waits for it (after <see cref="BlobGetArrived"/> completes) before it is forwarded.</summary>
    public TaskCompletionSource? BlobGate { get; set; }

    /// <summary>Completes when a blob GET arrives while <see cref="BlobGate"/> is set.</summary>
    public TaskCompletionSource BlobGetArrived { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public int Count(string method, string pathContains) =>
        Requests.Where(r => r.Key.StartsWith(method + " ", StringComparison.Ordinal) && r.Key.Contains(pathContains, StringComparison.Ordinal)).Sum(r => r.Value);

    public static async Task<UpstreamProxy> StartAsync(Uri target)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var proxy = new UpstreamProxy(app, target);
        app.Run(proxy.ForwardAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        proxy.BaseAddress = new Uri(address.TrimEnd('/') + "/");
        return proxy;
    }

    public async ValueTask DisposeAsync()
    {
        BlobGate?.TrySetResult();
        await _app.DisposeAsync();
        _http.Dispose();
    }

    private async Task ForwardAsync(HttpContext context)
    {
        var path = context.Request.Path.Value ?? "/";
        Requests.AddOrUpdate($"{context.Request.Method} {path}", 1, (_, n) => n + 1);
        var isBlob = path.Contains("/blobs/sha", StringComparison.Ordinal);
        var isManifest = path.Contains("/manifests/", StringComparison.Ordinal);
        if (isBlob && HttpMethods.IsGet(context.Request.Method) && BlobGate is { } gate)
        {
            BlobGetArrived.TrySetResult();
            await gate.Task;
        }

        using var request = new HttpRequestMessage(new HttpMethod(context.Request.Method), new Uri(_target, path + context.Request.QueryString));
        foreach (var name in new[] { "Accept", "Authorization" })
        {
            if (context.Request.Headers.TryGetValue(name, out var values))
            {
                request.Headers.TryAddWithoutValidation(name, (IEnumerable<string>)values!);
            }
        }

        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        context.Response.StatusCode = (int)response.StatusCode;
        foreach (var name in s_forwardedResponseHeaders)
        {
            if (response.Headers.TryGetValues(name, out var values))
            {
                context.Response.Headers[name] = values.ToArray();
            }
        }

        if (response.Content.Headers.ContentType is { } type)
        {
            context.Response.ContentType = type.ToString();
        }

        var body = await response.Content.ReadAsByteArrayAsync();
        if (response.StatusCode == HttpStatusCode.OK && body.Length > 0 && ((isBlob && LieAboutBlobs) || (isManifest && LieAboutManifests)))
        {
            body[body.Length / 2] ^= 0x20;
        }

        context.Response.ContentLength = response.Content.Headers.ContentLength ?? body.Length;
        if (!HttpMethods.IsHead(context.Request.Method))
        {
            await context.Response.Body.WriteAsync(body);
        }
    }
}
