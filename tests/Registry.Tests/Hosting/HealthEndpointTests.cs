using System.Net;
using System.Text.Json;
using Berth.Registry.Tests.Auth;

namespace Berth.Registry.Tests.Hosting;

/// <summary>
/// <c>/healthz</c> (liveness) and <c>/readyz</c> (readiness: both SQLite files open and answer) as documented in
/// docs/registry.md: unauthenticated, JSON, 200 or 503; readiness fails while a database is unavailable, liveness does not.
/// </summary>
public sealed class HealthEndpointTests : IDisposable
{
    private readonly AuthRegistryFactory _factory = new();

    public void Dispose() => _factory.Dispose();

    [Fact]
    public async Task HealthAndReadiness_AnswerWithoutCredentials()
    {
        var client = _factory.CreateClient();

        var (liveStatus, live) = await GetAsync(client, "/healthz");
        var (readyStatus, ready) = await GetAsync(client, "/readyz");

        Assert.Equal(HttpStatusCode.OK, liveStatus);
        Assert.Equal("Healthy", live.GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.OK, readyStatus);
        Assert.Equal("Healthy", ready.GetProperty("checks").GetProperty("database").GetProperty("status").GetString());
        // Readiness runs only readiness checks, liveness only liveness checks.
        Assert.False(live.GetProperty("checks").TryGetProperty("database", out _));
        Assert.False(ready.GetProperty("checks").TryGetProperty("self", out _));
    }

    [Theory]
    [InlineData("registry.db")]
    [InlineData("auth.db")]
    public async Task Readiness_FailsWhileADatabaseIsUnavailable_LivenessDoesNot(string database)
    {
        var client = _factory.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(client, "/readyz")).Status);
        var path = Path.Combine(_factory.DataDir, database);

        File.Move(path, path + ".away");
        try
        {
            var (readyStatus, ready) = await GetAsync(client, "/readyz");
            var (liveStatus, _) = await GetAsync(client, "/healthz");

            Assert.Equal(HttpStatusCode.ServiceUnavailable, readyStatus);
            var check = ready.GetProperty("checks").GetProperty("database");
            Assert.Equal("Unhealthy", check.GetProperty("status").GetString());
            Assert.StartsWith(database, check.GetProperty("description").GetString(), StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.OK, liveStatus);
        }
        finally
        {
            File.Move(path + ".away", path);
        }

        Assert.Equal(HttpStatusCode.OK, (await GetAsync(client, "/readyz")).Status);
    }

    private static async Task<(HttpStatusCode Status, JsonElement Body)> GetAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return (response.StatusCode, body.RootElement.Clone());
    }
}
