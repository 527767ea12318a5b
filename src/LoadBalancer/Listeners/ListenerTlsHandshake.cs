using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using Berth.LoadBalancer.State;
using Microsoft.AspNetCore.Server.Kestrel.Https;

namespace Berth.LoadBalancer.Listeners;

/// <summary>
/// TLS for every HTTPS listener, decided per connection from the configuration being served: the listener is found by
/// the port the connection arrived on, its certificate by the client's SNI name (ELB's choice, falling back to the
/// default certificate), the TLS versions by its security policy. Nothing of this is in the endpoint's own settings, so
/// a re-imported certificate, an added SNI certificate or a new policy applies to the next handshake while the
/// listener's socket and its open connections stay as they are.
/// </summary>
internal sealed partial class ListenerTlsHandshake(ConfigStore store, ILogger<ListenerTlsHandshake> logger)
{
    /// <summary>What Kestrel's <c>UseHttps</c> takes for each HTTPS endpoint.</summary>
    public TlsHandshakeCallbackOptions Options => new()
    {
        OnConnection = OnConnectionAsync,
        // Kestrel's default; a client that does not finish its handshake in time is dropped.
        HandshakeTimeout = TimeSpan.FromSeconds(10),
    };

    private ValueTask<SslServerAuthenticationOptions> OnConnectionAsync(TlsHandshakeCallbackContext context)
    {
        var port = (context.Connection.LocalEndPoint as IPEndPoint)?.Port ?? 0;
        if (store.Current?.ListenersByPort.GetValueOrDefault(port)?.Tls is not { } tls)
        {
            // The listener stopped being HTTPS and its endpoint is being rebound: no certificate to offer.
            LogNoHttpsListener(logger, port);
            throw new AuthenticationException($"No HTTPS listener on port {port}.");
        }

        var certificate = tls.Select(context.ClientHelloInfo.ServerName);
        return ValueTask.FromResult(new SslServerAuthenticationOptions
        {
            ServerCertificateContext = certificate.Context,
            EnabledSslProtocols = tls.Protocols,
            // ApplicationProtocols stays null: Kestrel offers ALPN from the endpoint's protocols (the ALPN policy).
        });
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "A TLS handshake on port {Port} found no HTTPS listener there")]
    private static partial void LogNoHttpsListener(ILogger logger, int port);
}
