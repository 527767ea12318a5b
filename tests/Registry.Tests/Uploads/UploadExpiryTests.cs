using System.Net;
using Berth.Registry.Tests.Infrastructure;
using Berth.TestSupport;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using static Berth.Registry.Tests.Infrastructure.RegistryTestClient;

namespace Berth.Registry.Tests.Uploads;

public sealed class UploadExpiryTests : IAsyncLifetime
{
    private readonly RegistryApp _app = new();
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);
    private WebApplicationFactory<Program> _factory = null!;
    private HttpClient _client = null!;

    public Task InitializeAsync()
    {
        _factory = _app.Factory.WithWebHostBuilder(builder =>
        {
            builder.UseSetting("Registry:UploadSessionTimeout", "01:00:00");
            builder.UseSetting("Registry:UploadCleanupInterval", "00:05:00");
            builder.ConfigureServices(services => services.AddSingleton<TimeProvider>(_time));
        });
        _client = _factory.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _factory.DisposeAsync();
        await _app.DisposeAsync();
    }

    [Fact]
    public async Task AbandonedUpload_IsRemoved_ActiveOneStays()
    {
        using var abandoned = await _client.PostAsync("/v2/expiry/blobs/uploads/", null);
        using var patched = await _client.PatchAsync(abandoned.LocationPath(), new ByteArrayContent(RandomBytes(100)));
        var abandonedId = abandoned.Header("Docker-Upload-UUID");

        _time.Advance(TimeSpan.FromMinutes(50));
        using var active = await _client.PostAsync("/v2/expiry/blobs/uploads/", null);

        // Past the abandoned upload's deadline, within the active one's.
        _time.Advance(TimeSpan.FromMinutes(15));
        // Polls the file, not the session: a status request would count as activity.
        var file = Path.Combine(_app.DataDir, "uploads", abandonedId);
        await TaskTimeouts.WaitUntilAsync(
            () =>
            {
                _time.Advance(TimeSpan.FromSeconds(1));
                return Task.FromResult(!File.Exists(file));
            },
            what: "the abandoned upload to expire");

        using var gone = await _client.GetAsync(abandoned.LocationPath());
        await AssertErrorAsync(gone, HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
        using var stillThere = await _client.GetAsync(active.LocationPath());
        Assert.Equal(HttpStatusCode.NoContent, stillThere.StatusCode);
    }
}
