using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Berth.TestSupport;
using Microsoft.Extensions.Logging;

namespace Berth.Registry.Tests.Notifications;

/// <summary>One envelope as the receiver got it.</summary>
public sealed record ReceivedEnvelope(string? ContentType, string? Authorization, JsonElement Body);

/// <summary>
/// A real HTTP webhook receiver on a loopback port (Kestrel), recording every envelope POSTed to <c>/events</c>.
/// <see cref="Refuse"/> makes it answer 503 (a receiver that is up but failing); <see cref="Accept"/> makes it take
/// events again. <see cref="WaitForEventsAsync"/> waits on the arrivals, never on a clock.
/// </summary>
public sealed class EventReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly List<ReceivedEnvelope> _envelopes = [];
    private readonly SemaphoreSlim _arrived = new(0);
    private volatile bool _refuse;
    private int _refusals;

    private EventReceiver(WebApplication app) => _app = app;

    public Uri Url { get; private set; } = null!;

    /// <summary>Requests answered 503 so far.</summary>
    public int Refusals => Volatile.Read(ref _refusals);

    public static async Task<EventReceiver> StartAsync(bool refuse = false)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new EventReceiver(app) { _refuse = refuse };
        app.MapPost("/events", (Func<HttpContext, Task<IResult>>)receiver.ReceiveAsync);
        await app.StartAsync();
        receiver.Url = new Uri(app.Urls.First() + "/events");
        return receiver;
    }

    public void Refuse() => _refuse = true;

    public void Accept() => _refuse = false;

    public IReadOnlyList<ReceivedEnvelope> Envelopes
    {
        get
        {
            lock (_envelopes)
            {
                return [.. _envelopes];
            }
        }
    }

    /// <summary>Every event of every envelope, in arrival order.</summary>
    public IReadOnlyList<JsonElement> Events => [.. Envelopes.SelectMany(e => e.Body.GetProperty("events").EnumerateArray())];

    public async Task<IReadOnlyList<JsonElement>> WaitForEventsAsync(Func<IReadOnlyList<JsonElement>, bool> enough, TimeSpan? timeout = null)
    {
        using var deadline = new CancellationTokenSource(timeout ?? TaskTimeouts.Default);
        while (true)
        {
            var events = Events;
            if (enough(events))
            {
                return events;
            }

            try
            {
                await _arrived.WaitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"the receiver got {events.Count} events, not what the test waited for: {string.Join(" | ", events)}");
            }
        }
    }

    public async Task WaitForRefusalsAsync(int count) =>
        await TaskTimeouts.WaitUntilAsync(() => Task.FromResult(Refusals >= count), what: $"{count} refused deliveries");

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _arrived.Dispose();
    }

    private async Task<IResult> ReceiveAsync(HttpContext context)
    {
        if (_refuse)
        {
            Interlocked.Increment(ref _refusals);
            _arrived.Release();
            return Results.StatusCode((int)HttpStatusCode.ServiceUnavailable);
        }

        var body = await JsonSerializer.DeserializeAsync<JsonElement>(context.Request.Body);
        lock (_envelopes)
        {
            _envelopes.Add(new ReceivedEnvelope(context.Request.ContentType, context.Request.Headers.Authorization, body));
        }

        _arrived.Release();
        return Results.Ok();
    }
}
