using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.Options;

namespace Berth.Registry.Auth.Throttling;

/// <summary>
/// Counts failed logins per client address. Past the limit within the window, the client is refused with 429 until
/// the window has passed, so guessing passwords costs a window per handful of guesses.
/// </summary>
internal sealed class LoginThrottle(IOptions<AuthOptions> options, TimeProvider time)
{
    private const int MaxTrackedClients = 100_000;

    private readonly ConcurrentDictionary<IPAddress, Window> _windows = new();

    /// <summary>How long the client must wait, or null when it may try.</summary>
    public TimeSpan? RetryAfter(IPAddress? client)
    {
        if (!_windows.TryGetValue(client ?? IPAddress.None, out var window))
        {
            return null;
        }

        var now = time.GetUtcNow();
        var settings = options.Value;
        lock (window)
        {
            if (now - window.Start >= settings.FailureWindow)
            {
                return null;
            }

            return window.Failures >= settings.MaxFailures ? window.Start + settings.FailureWindow - now : null;
        }
    }

    public void RecordFailure(IPAddress? client)
    {
        // A request with no peer address (an in-process host) shares one bucket rather than escaping the limit.
        client ??= IPAddress.None;
        if (_windows.Count >= MaxTrackedClients)
        {
            Prune();
        }

        var now = time.GetUtcNow();
        var window = _windows.GetOrAdd(client, _ => new Window { Start = now });
        lock (window)
        {
            if (now - window.Start >= options.Value.FailureWindow)
            {
                window.Start = now;
                window.Failures = 0;
            }

            window.Failures++;
        }
    }

    public void RecordSuccess(IPAddress? client)
    {
        _windows.TryRemove(client ?? IPAddress.None, out _);
    }

    private void Prune()
    {
        var cutoff = time.GetUtcNow() - options.Value.FailureWindow;
        foreach (var (address, window) in _windows)
        {
            if (window.Start < cutoff)
            {
                _windows.TryRemove(address, out _);
            }
        }
    }

    private sealed class Window
    {
        public DateTimeOffset Start { get; set; }

        public int Failures { get; set; }
    }
}
