using System.Net.Sockets;

namespace Berth.Cli.Up;

/// <summary>Asks the local Docker engine for <c>/_ping</c> over its unix socket, the way the agent will reach it.</summary>
internal static class DockerEngineProbe
{
    public const string DefaultEndpoint = "unix:///var/run/docker.sock";

    /// <summary>The engine endpoint: DOCKER_HOST when it names a unix socket, else the default socket.</summary>
    public static string Endpoint(Func<string, string?> variable) =>
        variable("DOCKER_HOST") is { } host && host.StartsWith("unix://", StringComparison.Ordinal) ? host : DefaultEndpoint;

    /// <summary>Null when the engine answers, else why not.</summary>
    public static async Task<string?> ProblemAsync(string endpoint, CancellationToken cancellationToken)
    {
        var socketPath = endpoint["unix://".Length..];
        if (!File.Exists(socketPath))
        {
            return $"there is no Docker engine socket at {socketPath}";
        }

        using var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, ct) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), ct);
                return new NetworkStream(socket, ownsSocket: true);
            },
        };
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(5) };
        try
        {
            var answer = await http.GetStringAsync(new Uri("http://docker/_ping"), cancellationToken);
            return answer.Trim() == "OK" ? null : $"the engine at {socketPath} answered '{answer.Trim()}' to a ping";
        }
        catch (Exception e) when (e is HttpRequestException or SocketException or TaskCanceledException)
        {
            return $"nothing answers on {socketPath} ({e.Message})";
        }
    }

    /// <summary>What to do about a missing engine.</summary>
    public const string HowToGetOne =
        "berth up runs tasks on a local Docker engine. Install and start one:\n" +
        "  sudo apt-get install -y docker.io && sudo systemctl start docker\n" +
        "(in a container or without systemd: `sudo dockerd >/var/log/dockerd.log 2>&1 &`), then run `berth up` again.\n" +
        "An engine on another socket: set DOCKER_HOST=unix:///path/to/docker.sock.";
}
