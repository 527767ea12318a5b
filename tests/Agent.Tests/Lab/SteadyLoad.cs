using Berth.TestSupport;
using Xunit.Abstractions;

namespace Berth.Agent.Tests.Lab;

/// <summary>
/// Idempotent GETs through the balancer without pause from four workers: two keep their connection alive, two open
/// a new connection for every request. Every request is counted; a non-2xx answer or a connection error is a failure,
/// kept with the moment its request was sent.
/// </summary>
internal sealed class SteadyLoad : IAsyncDisposable
{
    /// <summary>How many workers send: at most this many requests are in flight at any moment.</summary>
    public const int Workers = 4;

    private readonly CancellationTokenSource _stop = new();
    private readonly Task[] _workers;
    private readonly Lock _gate = new();
    private readonly ITestOutputHelper _output;
    private readonly Dictionary<string, long> _bodies = new(StringComparer.Ordinal);
    private readonly List<LoadFailure> _failures = [];
    private long _total;
    private long _newConnections;

    public SteadyLoad(string address, ITestOutputHelper output)
    {
        _output = output;
        _workers = [Worker(address, keepAlive: true), Worker(address, keepAlive: true), Worker(address, keepAlive: false), Worker(address, keepAlive: false)];
    }

    /// <summary>Requests answered or failed so far.</summary>
    public long Total => Interlocked.Read(ref _total);

    /// <summary>How many answers had each body so far.</summary>
    public long Count(string body)
    {
        lock (_gate)
        {
            return _bodies.GetValueOrDefault(body);
        }
    }

    public Task WaitForAsync(Func<SteadyLoad, bool> condition, string what) => TaskTimeouts.WaitUntilAsync(() => Task.FromResult(condition(this)), TimeSpan.FromSeconds(60), what);

    /// <summary>Waits until <paramref name="count"/> more requests than now have been answered or failed.</summary>
    public Task WaitForMoreAsync(int count, string what)
    {
        var target = Total + count;
        return WaitForAsync(l => l.Total >= target, $"{count} more requests ({what})");
    }

    public async Task<LoadResult> StopAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_workers).WithTimeout();
        lock (_gate)
        {
            var result = new LoadResult(Total, Interlocked.Read(ref _newConnections), [.. _failures]);
            _output.WriteLine($"requests {result.Total} ({result.NewConnections} on new connections), failed {result.Failures.Count}: {string.Join("; ", result.Failures.Take(5))}");
            return result;
        }
    }

    private Task Worker(string address, bool keepAlive) => Task.Run(async () =>
    {
        using var handler = new SocketsHttpHandler { PooledConnectionLifetime = keepAlive ? Timeout.InfiniteTimeSpan : TimeSpan.Zero };
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(10) };
        while (!_stop.IsCancellationRequested)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, address);
            if (!keepAlive)
            {
                request.Headers.ConnectionClose = true;
            }

            var sent = DateTimeOffset.UtcNow;
            try
            {
                using var response = await http.SendAsync(request, _stop.Token);
                var body = await response.Content.ReadAsStringAsync(_stop.Token);
                lock (_gate)
                {
                    if (!response.IsSuccessStatusCode)
                    {
                        _failures.Add(new LoadFailure(sent, DateTimeOffset.UtcNow, $"{(int)response.StatusCode} {body.Trim()}"));
                    }
                    else
                    {
                        _bodies[body] = _bodies.GetValueOrDefault(body) + 1;
                    }
                }

                Interlocked.Increment(ref _total);
                if (!keepAlive)
                {
                    Interlocked.Increment(ref _newConnections);
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
            {
                lock (_gate)
                {
                    _failures.Add(new LoadFailure(sent, DateTimeOffset.UtcNow, e.GetType().Name + ": " + e.Message));
                }

                Interlocked.Increment(ref _total);
            }
        }
    });

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await _stop.CancelAsync();
            try
            {
                await Task.WhenAll(_workers);
            }
            catch (Exception e)
            {
                _output.WriteLine("load worker: " + e.Message);
            }
        }

        _stop.Dispose();
    }
}

/// <summary>A failed request: when it was sent, when it failed, and how.</summary>
internal sealed record LoadFailure(DateTimeOffset Sent, DateTimeOffset Failed, string What)
{
    public override string ToString() => $"{Sent:HH:mm:ss.fff}-{Failed:HH:mm:ss.fff} {What}";
}

/// <summary>What a <see cref="SteadyLoad"/> counted.</summary>
internal sealed record LoadResult(long Total, long NewConnections, List<LoadFailure> Failures);
