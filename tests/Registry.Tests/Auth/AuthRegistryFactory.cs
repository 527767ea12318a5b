using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Time.Testing;

namespace Berth.Registry.Tests.Auth;

/// <summary>The registry in-process on its own temporary data dir, with a clock the test moves.</summary>
public sealed class AuthRegistryFactory : WebApplicationFactory<Program>
{
    public string DataDir { get; } = Directory.CreateTempSubdirectory("berth-auth-registry-").FullName;

    public FakeTimeProvider Time { get; } = new(DateTimeOffset.Parse("2026-06-01T12:00:00Z", CultureInfo.InvariantCulture));

    public Dictionary<string, string?> Settings { get; } = [];

    /// <summary>Leaves <see cref="DataDir"/> in place on dispose, for a restart on the same data dir.</summary>
    public bool KeepDataDir { get; set; }

    public string AdminPassword => File.ReadAllText(Path.Combine(DataDir, "initial-admin-password")).Trim();

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("Registry:DataDir", DataDir);
        foreach (var (key, value) in Settings)
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureServices(services => services.Replace(ServiceDescriptor.Singleton<TimeProvider>(Time)));
    }

    /// <summary>A bearer token from the token endpoint for <paramref name="user"/>, with <paramref name="scopes"/>.</summary>
    public static async Task<string> TokenAsync(HttpClient client, string user, string password, params string[] scopes)
    {
        var query = string.Join('&', scopes.Select(s => "scope=" + Uri.EscapeDataString(s)));
        using var request = new HttpRequestMessage(HttpMethod.Get, "/auth/token?service=berth-registry&" + query);
        request.Headers.Authorization = Basic(user, password);
        using var response = await client.SendAsync(request);
        if (response.StatusCode != System.Net.HttpStatusCode.OK)
        {
            throw new InvalidOperationException($"token request for {user} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }

        using var body = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return body.RootElement.GetProperty("token").GetString()!;
    }

    public static AuthenticationHeaderValue Basic(string user, string password) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing && !KeepDataDir && Directory.Exists(DataDir))
        {
            Directory.Delete(DataDir, recursive: true);
        }
    }
}
