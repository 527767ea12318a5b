using System.Globalization;
using Berth.LoadBalancer.Hosting;
using Berth.LoadBalancer.Model;
using Berth.LoadBalancer.State;
using Microsoft.Extensions.Options;

namespace Berth.LoadBalancer.Listeners;

/// <summary>
/// Opens and closes listeners as the configuration changes.
/// </summary>
/// <remarks>
/// Through Kestrel's own endpoint configuration with reload: each listener is an entry under <c>Endpoints</c> of a configuration only this class writes, and Kestrel
/// (configured with <c>reloadOnChange</c>) stops the endpoints that went or changed and binds the new ones, leaving
/// unchanged ones and their connections alone. HTTPS endpoints carry no certificate here: they are named
/// <c>https-&lt;slot&gt;</c>, names <see cref="Hosting.KestrelSetup"/> gave a TLS handshake callback
/// (<see cref="ListenerTlsHandshake"/>) that picks certificate and TLS versions per connection, so a certificate
/// change is not an endpoint change. A port keeps its slot while it stays HTTPS.
/// </remarks>
internal sealed partial class ListenerEndpoints : ConfigurationProvider, IConfigurationSource
{
    private readonly string _address;
    private readonly Dictionary<int, int> _httpsSlots = [];
    private readonly ILogger<ListenerEndpoints> _logger;

    public ListenerEndpoints(ConfigStore store, IOptions<BalancerOptions> options, ILogger<ListenerEndpoints> logger)
    {
        _address = options.Value.ListenAddress.Contains(':', StringComparison.Ordinal) ? $"[{options.Value.ListenAddress}]" : options.Value.ListenAddress;
        _logger = logger;
        Configuration = new ConfigurationBuilder().Add(this).Build();
        store.Changed += Update;
        if (store.Current is { } model)
        {
            Update(ModelChange.Whole(null, model));
        }
    }

    /// <summary>The configuration to hand to <c>KestrelServerOptions.Configure(..., reloadOnChange: true)</c>.</summary>
    public IConfiguration Configuration { get; }

    public IConfigurationProvider Build(IConfigurationBuilder builder) => this;

    /// <summary>The endpoint name of an HTTPS slot; every one has the TLS callback (ELB's 50 listeners, 50 slots).</summary>
    public static string HttpsEndpoint(int slot) => "https-" + slot.ToString(CultureInfo.InvariantCulture);

    private void Update(ModelChange change)
    {
        if (change.OnlyTargets)
        {
            // Listeners do not change with targets.
            return;
        }

        var model = change.Current;
        AssignSlots(model);
        var data = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var listener in model.Listeners)
        {
            var https = listener.Protocol == ListenerProtocol.Https;
            var key = https ? "Endpoints:" + HttpsEndpoint(_httpsSlots[listener.Port]) : $"Endpoints:listener-{listener.Port.ToString(CultureInfo.InvariantCulture)}";
            data[key + ":Url"] = $"{(https ? "https" : "http")}://{_address}:{listener.Port.ToString(CultureInfo.InvariantCulture)}";
            // ALB speaks HTTP/2 to clients over TLS only (ALPN); clear-text HTTP listeners are HTTP/1.1, as there.
            data[key + ":Protocols"] = listener.Protocol switch
            {
                ListenerProtocol.Tcp or ListenerProtocol.Http => "Http1",
                _ when listener.AlpnPolicy is "HTTP1Only" => "Http1",
                _ when listener.AlpnPolicy is "HTTP2Only" => "Http2",
                _ => "Http1AndHttp2",
            };
        }

        if (data.Count == Data.Count && data.All(kv => Data.TryGetValue(kv.Key, out var v) && v == kv.Value))
        {
            return;
        }

        Data = data;
        var summary = string.Join(", ", model.Listeners.Select(l => $"{l.Protocol}:{l.Port}"));
        LogListeners(_logger, summary);
        OnReload();
    }

    /// <summary>Keeps each HTTPS port's slot while it stays HTTPS; new HTTPS ports take the lowest free slots.</summary>
    private void AssignSlots(BalancerModel model)
    {
        var https = model.Listeners.Where(l => l.Protocol == ListenerProtocol.Https).Select(l => l.Port).ToHashSet();
        foreach (var port in _httpsSlots.Keys.Where(p => !https.Contains(p)).ToList())
        {
            _httpsSlots.Remove(port);
        }

        var used = _httpsSlots.Values.ToHashSet();
        var next = 0;
        foreach (var port in https.Where(p => !_httpsSlots.ContainsKey(p)).Order())
        {
            while (used.Contains(next))
            {
                next++;
            }

            _httpsSlots[port] = next;
            used.Add(next);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Listeners: {Listeners}")]
    private static partial void LogListeners(ILogger logger, string listeners);
}
