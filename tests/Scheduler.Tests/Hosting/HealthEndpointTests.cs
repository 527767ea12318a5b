using System.Net;
using System.Text.Json;
using Berth.Scheduler.Tests.Infrastructure;
using Berth.Scheduler.Kernel;
using Berth.TestSupport;
using Grpc.Health.V1;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Berth.Scheduler.Tests.Hosting;

/// <summary>
/// The scheduler's health: <c>/healthz</c> and <c>/readyz</c> (over HTTP/2, as everything on its h2c port) and the
/// standard <c>grpc.health.v1.Health</c> service, all without credentials; not ready while scheduler.db is unavailable.
/// </summary>
public sealed class HealthEndpointTests(ITestOutputHelper output) : SchedulerTest(output)
{
    [Fact]
    public async Task HttpAndGrpcHealth_AnswerWithoutCredentials()
    {
        using var http = Http2Client();
        await LoadedAsync();

        var (liveStatus, live) = await GetAsync(http, "/healthz");
        var (readyStatus, ready) = await GetAsync(http, "/readyz");
        var serving = await new Health.HealthClient(Host.Channel).CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(30));
        var agents = await new Health.HealthClient(Host.Channel).CheckAsync(new HealthCheckRequest { Service = "berth.scheduler.v1.AgentService" }, deadline: DateTime.UtcNow.AddSeconds(30));

        Assert.Equal(HttpStatusCode.OK, liveStatus);
        Assert.Equal("Healthy", live.GetProperty("checks").GetProperty("self").GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.OK, readyStatus);
        Assert.Equal("Healthy", ready.GetProperty("checks").GetProperty("state").GetProperty("status").GetString());
        Assert.Equal("Healthy", ready.GetProperty("checks").GetProperty("database").GetProperty("status").GetString());
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, serving.Status);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, agents.Status);
    }

    [Fact]
    public async Task Readiness_FailsWhileTheDatabaseIsUnavailable_LivenessDoesNot()
    {
        using var http = Http2Client();
        await LoadedAsync();
        var database = Path.Combine(DataDirectory, "scheduler.db");

        File.Move(database, database + ".away");
        try
        {
            var (readyStatus, ready) = await GetAsync(http, "/readyz");
            var (liveStatus, _) = await GetAsync(http, "/healthz");
            var grpc = await new Health.HealthClient(Host.Channel).CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(30));

            Assert.Equal(HttpStatusCode.ServiceUnavailable, readyStatus);
            Assert.Equal("Unhealthy", ready.GetProperty("checks").GetProperty("database").GetProperty("status").GetString());
            Assert.Equal(HttpStatusCode.OK, liveStatus);
            Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing, grpc.Status);
        }
        finally
        {
            File.Move(database + ".away", database);
        }

        Assert.Equal(HttpStatusCode.OK, (await GetAsync(http, "/readyz")).Status);
    }

    // The state loads beside the server's start; until it has, readiness says "loading".
    private Task LoadedAsync() => Host.Services.GetRequiredService<StateKernel>().WhenLoaded.WithTimeout();

    // The scheduler's plain-HTTP port speaks HTTP/2 only (h2c, for gRPC): prior knowledge, as grpc clients do.
    private HttpClient Http2Client() => new()
    {
        BaseAddress = Host.Address,
        DefaultRequestVersion = HttpVersion.Version20,
        DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        Timeout = TimeSpan.FromSeconds(30),
    };

    private static async Task<(HttpStatusCode Status, JsonElement Body)> GetAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return (response.StatusCode, body.RootElement.Clone());
    }
}
