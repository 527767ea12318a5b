using System.Net.Http.Headers;
using System.Buffers;
using System.Threading.Channels;
using Berth.Registry.Outbox;
using Microsoft.Extensions.Options;

namespace Berth.Registry.Notifications;

/// <summary>
/// Delivers the outbox to every configured endpoint: one loop per endpoint, in event order, a batch per request as
/// distribution's envelope (<c>{"events":[...]}</c>, <c>application/vnd.docker.distribution.events.v1+json</c>).
/// A 2xx answer moves the endpoint's cursor (persisted); anything else, or no answer within the endpoint's timeout, is
/// retried after a backoff that doubles up to its maximum, with no event skipped: delivery is at least once (an
/// endpoint that answered but whose cursor was not yet stored when the process died gets that batch again; the event
/// ids let it notice).
/// </summary>
internal sealed partial class NotificationSender : BackgroundService
{
    public const string EnvelopeMediaType = "application/vnd.docker.distribution.events.v1+json";

    // As StringContent sent it before the body was built from the stored bytes: the media type, UTF-8.
    private static readonly MediaTypeHeaderValue s_envelopeType = new(EnvelopeMediaType) { CharSet = "utf-8" };

    private readonly ChangeOutbox _queue;
    private readonly NotificationOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<NotificationSender> _logger;
    private readonly HttpClient _http = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }) { Timeout = Timeout.InfiniteTimeSpan };

    public NotificationSender(ChangeOutbox queue, ChangeSignal signal, IOptions<NotificationOptions> options, TimeProvider time, ILogger<NotificationSender> logger)
    {
        _queue = queue;
        _options = options.Value;
        _time = time;
        _logger = logger;
        Endpoints = [.. _options.Endpoints.Select(e => new EndpointState(e))];
        foreach (var state in Endpoints)
        {
            var wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
            _wakeups[state] = wake;
            signal.Subscribe(() => wake.Writer.TryWrite(true));
        }
    }

    private readonly Dictionary<EndpointState, Channel<bool>> _wakeups = [];

    public IReadOnlyList<EndpointState> Endpoints { get; }

    /// <summary>Cursors are read (and new endpoints given one) before the registry takes requests.</summary>
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        var cursors = await _queue.OpenAsync(cancellationToken);
        foreach (var state in Endpoints)
        {
            state.Start(cursors[state.Endpoint.Name]);
        }

        await base.StartAsync(cancellationToken);
    }

    public override void Dispose()
    {
        _http.Dispose();
        base.Dispose();
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(Endpoints.Select(state => Task.Run(() => RunAsync(state, stoppingToken), stoppingToken)));

    private async Task RunAsync(EndpointState state, CancellationToken stoppingToken)
    {
        var endpoint = state.Endpoint;
        var actions = endpoint.EffectiveActions;
        var backoff = endpoint.Backoff;
        var wake = _wakeups[state].Reader;
        var body = new ArrayBufferWriter<byte>(64 * 1024);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                // Drained before the read: a commit after this point wakes the wait below again.
                wake.TryRead(out _);
                var batch = await _queue.ReadAsync(state.Cursor, _options.BatchSize, stoppingToken);
                if (batch.Count == 0)
                {
                    await WaitAsync(wake, _options.PollInterval, stoppingToken);
                    continue;
                }

                var events = batch.Where(e => actions.Contains(e.Action, StringComparer.Ordinal)).ToList();
                if (events.Count > 0)
                {
                    await PostAsync(endpoint, events, body, stoppingToken);
                }

                await _queue.AdvanceAsync(endpoint.Name, batch[^1].Id, stoppingToken);
                state.Delivered(batch[^1].Id, events.Count, _time.GetUtcNow());
                if (events.Count > 0)
                {
                    Log.Delivered(_logger, events.Count, endpoint.Name);
                }

                backoff = endpoint.Backoff;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException or DeliveryRefusedException or IOException)
            {
                var now = _time.GetUtcNow();
                var error = e is OperationCanceledException ? $"no answer within {endpoint.Timeout}" : e.Message;
                state.Failed(error, now, now + backoff);
                Log.DeliveryFailed(_logger, endpoint.Name, error, backoff);
                try
                {
                    await Task.Delay(backoff, _time, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, endpoint.MaxBackoff.Ticks));
            }
        }
    }

    private async Task PostAsync(NotificationEndpointOptions endpoint, List<QueuedEvent> events, ArrayBufferWriter<byte> body, CancellationToken stoppingToken)
    {
        // The payloads are the events' JSON as recorded, in UTF-8: the envelope is only their array around them, put
        // together in the endpoint loop's reused buffer (the request is sent before the loop uses it again).
        body.ResetWrittenCount();
        body.Write("{\"events\":["u8);
        for (var i = 0; i < events.Count; i++)
        {
            if (i > 0)
            {
                body.Write(","u8);
            }

            body.Write(events[i].Payload);
        }

        body.Write("]}"u8);
        using var request = new HttpRequestMessage(HttpMethod.Post, endpoint.Url)
        {
            Content = new ReadOnlyMemoryContent(body.WrittenMemory) { Headers = { ContentType = s_envelopeType } },
        };
        foreach (var (name, value) in endpoint.Headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        timeout.CancelAfter(endpoint.Timeout);
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        if (!response.IsSuccessStatusCode)
        {
            throw new DeliveryRefusedException($"{(int)response.StatusCode} {response.ReasonPhrase}");
        }
    }

    private async Task WaitAsync(ChannelReader<bool> wake, TimeSpan poll, CancellationToken stoppingToken)
    {
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        try
        {
            var delay = Task.Delay(poll, _time, timer.Token);
            var woken = wake.WaitToReadAsync(timer.Token).AsTask();
            await Task.WhenAny(delay, woken);
        }
        finally
        {
            await timer.CancelAsync();
        }

        stoppingToken.ThrowIfCancellationRequested();
    }

    private sealed class DeliveryRefusedException(string message) : Exception(message);
}
