using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Berth.TestSupport;
using Xunit.Abstractions;

namespace Berth.Agent.Tests.Hosting;

/// <summary>
/// The agent process's <c>/healthz</c> and <c>/readyz</c> (served with <c>--health-url</c>): alive whatever its
/// dependencies do; ready only while the Docker engine answers.
/// </summary>
[Trait("Category", "System")]
public sealed class HealthEndpointTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("berth-agent-health-");
    private static readonly HttpClient s_http = new() { Timeout = TimeSpan.FromSeconds(30) };

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        _work.Delete(recursive: true);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task WithTheEngine_IsLiveAndReady()
    {
        var (agent, url) = Start("unix:///var/run/docker.sock");
        await using (agent)
        {
            var (liveStatus, live) = await WaitForAnswerAsync(url + "healthz");
            var (readyStatus, ready) = await GetAsync(url + "readyz");

            Assert.Equal(HttpStatusCode.OK, liveStatus);
            Assert.Equal("Healthy", live.GetProperty("checks").GetProperty("self").GetProperty("status").GetString());
            Assert.Equal(HttpStatusCode.OK, readyStatus);
            Assert.Equal("Healthy", ready.GetProperty("checks").GetProperty("docker").GetProperty("status").GetString());
        }
    }

    [Fact]
    public async Task WithoutTheEngine_IsLiveButNotReady()
    {
        var (agent, url) = Start($"unix://{Path.Combine(_work.FullName, "no-engine.sock")}");
        await using (agent)
        {
            var (liveStatus, _) = await WaitForAnswerAsync(url + "healthz");
            var (readyStatus, ready) = await GetAsync(url + "readyz");

            Assert.Equal(HttpStatusCode.OK, liveStatus);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, readyStatus);
            Assert.Equal("Unhealthy", ready.GetProperty("status").GetString());
            Assert.Equal("Unhealthy", ready.GetProperty("checks").GetProperty("docker").GetProperty("status").GetString());
            Assert.Equal(HttpStatusCode.NotFound, (await s_http.GetAsync(url + "metrics")).StatusCode);
        }
    }

    [Fact]
    public async Task ProbesConnectingWhileTheAgentStarts_DoNotStopIt_AndEveryPathIsAnsweredInHttp()
    {
        // The managed HttpListener this used to run on threw from Start() when a client connected while it started
        // (dotnet/corefx#35191), which failed the agent's start: here clients connect as fast as they can throughout.
        using var hammering = new CancellationTokenSource();
        var port = TestPorts.Next();
        var connects = 0;
        var hammer = Task.Run(async () =>
        {
            while (!hammering.IsCancellationRequested)
            {
                using var client = new TcpClient();
                try
                {
                    await client.ConnectAsync(IPAddress.Loopback, port, hammering.Token);
                    Interlocked.Increment(ref connects);
                }
                catch (Exception e) when (e is SocketException or OperationCanceledException)
                {
                }
            }
        });
        var (agent, url) = Start("unix:///var/run/docker.sock", port);
        await using (agent)
        {
            try
            {
                var (liveStatus, _) = await WaitForAnswerAsync(url + "healthz");
                Assert.Equal(HttpStatusCode.OK, liveStatus);
                await TaskTimeouts.WaitUntilAsync(() => Task.FromResult(Volatile.Read(ref connects) > 50), TimeSpan.FromSeconds(30), "connections while the agent runs");
            }
            finally
            {
                await hammering.CancelAsync();
                await hammer;
            }

            Assert.False(agent.HasExited);
            Assert.Equal(HttpStatusCode.OK, (await GetAsync(url + "readyz?verbose=1")).Item1);
            using var head = await s_http.SendAsync(new HttpRequestMessage(HttpMethod.Head, url + "healthz"));
            Assert.Equal(HttpStatusCode.OK, head.StatusCode);
            Assert.True(head.Content.Headers.ContentLength > 0);
            using var post = await s_http.PostAsync(url + "healthz", new StringContent("x"));
            Assert.Equal(HttpStatusCode.MethodNotAllowed, post.StatusCode);
            using var missing = await s_http.GetAsync(url + "nope");
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        }
    }

    private (ServiceProcess Agent, string Url) Start(string dockerEndpoint, int? fixedPort = null)
    {
        var port = fixedPort ?? TestPorts.Next();
        var config = Path.Combine(_work.FullName, "agent.json");
        File.WriteAllText(config, "{}");
        var agent = ServiceProcess.Start("agent", Binary(),
        [
            "--config", config, "--scheduler-url", "http://127.0.0.1:1", "--join-token", "unused", "--data-dir", Path.Combine(_work.FullName, "data"),
            "--scope", "health-" + Guid.NewGuid().ToString("N")[..6], "--docker-endpoint", dockerEndpoint, "--ImageCleanup:Enabled", "false",
            "--health-url", $"http://127.0.0.1:{port}/",
        ], output.WriteLine);
        return (agent, $"http://127.0.0.1:{port}/");
    }

    private static async Task<(HttpStatusCode, JsonElement)> WaitForAnswerAsync(string url)
    {
        (HttpStatusCode, JsonElement) answer = default;
        await TaskTimeouts.WaitUntilAsync(async () =>
        {
            try
            {
                answer = await GetAsync(url);
                return true;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(60), $"{url} to answer");
        return answer;
    }

    private static async Task<(HttpStatusCode, JsonElement)> GetAsync(string url)
    {
        using var response = await s_http.GetAsync(url);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return (response.StatusCode, body.RootElement.Clone());
    }

    private static string Binary()
    {
        var configuration = AppContext.BaseDirectory.Contains("/Release/", StringComparison.Ordinal) ? "Release" : "Debug";
        var path = Path.Combine(LabHosts.RepositoryRoot(), "src", "Agent", "bin", configuration, "net10.0", "Berth.Agent");
        Assert.True(File.Exists(path), $"{path} is missing: build Platform.sln first");
        return path;
    }
}
