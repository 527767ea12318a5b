using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Berth.LoadBalancer.Hosting;
using Berth.LoadBalancer.Model;
using Berth.LoadBalancer.State;
using Microsoft.Extensions.Options;

namespace Berth.LoadBalancer.Listeners;

/// <summary>
/// Opens and closes listeners as the configuration changes, through Kestrel's own endpoint configuration with
/// reload: each listener is an entry under <c>Endpoints</c> of a configuration only this class writes, and Kestrel
/// (configured with <c>reloadOnChange</c>) stops the endpoints that went or changed and binds the new ones, leaving
/// unchanged ones and their connections alone. HTTPS certificates are PEM files under the data directory, named by
/// content hash, so a replaced certificate is a changed endpoint.
/// </summary>
internal sealed partial class ListenerEndpoints : ConfigurationProvider, IConfigurationSource
{
    private readonly DataDirectory _data;
    private readonly string _address;
    private readonly ILogger<ListenerEndpoints> _logger;

    public ListenerEndpoints(ConfigStore store, DataDirectory data, IOptions<BalancerOptions> options, ILogger<ListenerEndpoints> logger)
    {
        _data = data;
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

    private void Update(ModelChange change)
    {
        if (change.OnlyTargets)
        {
            // Listeners do not change with targets.
            return;
        }

        var model = change.Current;
        var data = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var listener in model.Listeners)
        {
            var key = $"Endpoints:listener-{listener.Port.ToString(CultureInfo.InvariantCulture)}";
            var https = listener.Protocol == ListenerProtocol.Https;
            data[key + ":Url"] = $"{(https ? "https" : "http")}://{_address}:{listener.Port.ToString(CultureInfo.InvariantCulture)}";
            // ALB speaks HTTP/2 to clients over TLS only (ALPN); clear-text HTTP listeners are HTTP/1.1, as there.
            data[key + ":Protocols"] = listener.Protocol switch
            {
                ListenerProtocol.Tcp or ListenerProtocol.Http => "Http1",
                _ when listener.AlpnPolicy is "HTTP1Only" => "Http1",
                _ when listener.AlpnPolicy is "HTTP2Only" => "Http2",
                _ => "Http1AndHttp2",
            };
            if (https && listener.Certificate is { } certificate)
            {
                var (certPath, keyPath) = WriteCertificate(certificate);
                data[key + ":Certificate:Path"] = certPath;
                data[key + ":Certificate:KeyPath"] = keyPath;
                data[key + ":SslProtocols:0"] = "Tls12";
                data[key + ":SslProtocols:1"] = "Tls13";
            }
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

    private (string Certificate, string Key) WriteCertificate(CertificateModel certificate)
    {
        var hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(certificate.CertificatePem + certificate.PrivateKeyPem)).AsSpan(0, 12));
        var certPath = Path.Combine(_data.Certificates, $"{hash}.crt");
        var keyPath = Path.Combine(_data.Certificates, $"{hash}.key");
        if (!File.Exists(keyPath))
        {
            DataDirectory.WriteAtomically(certPath, Encoding.UTF8.GetBytes(certificate.CertificatePem));
            DataDirectory.WriteAtomically(keyPath, Encoding.UTF8.GetBytes(certificate.PrivateKeyPem));
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(keyPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }
        }

        return (certPath, keyPath);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Listeners: {Listeners}")]
    private static partial void LogListeners(ILogger logger, string listeners);
}
