using System.Net;
using Berth.RegistryAdmin;

namespace Berth.Registry.Tests.Auth;

/// <summary>The shared typed client (what the CLI and the scheduler use) against the registry that serves the API.</summary>
public sealed class RegistryAdminClientTests : IDisposable
{
    private readonly AuthRegistryFactory _factory = new();

    public void Dispose() => _factory.Dispose();

    private RegistryAdminClient Admin() => new(_factory.CreateClient(), "admin", _factory.AdminPassword);

    [Fact]
    public async Task Robots_CreateListRotateDelete_RoundTripThroughTheTypedContract()
    {
        var admin = Admin();

        var created = await admin.CreateRobotAsync(new CreateRobotRequest("ci", "builds", null, [new PermissionGrant("team-a/*", ["pull", "push"])]), CancellationToken.None);
        var listed = Assert.Single(await admin.ListRobotsAsync(CancellationToken.None));
        var grants = await admin.ListPermissionsAsync("robot$ci", CancellationToken.None);
        var rotated = await admin.RotateRobotSecretAsync("ci", CancellationToken.None);
        var asRobot = await new RegistryAdminClient(_factory.CreateClient(), "robot$ci", rotated.Secret).GetLoginPasswordAsync(CancellationToken.None);
        await admin.DeleteRobotAsync("ci", CancellationToken.None);

        Assert.Equal("robot$ci", created.Name);
        Assert.NotEmpty(created.Secret);
        Assert.Equal(("robot$ci", "builds"), (listed.Name, listed.Description));
        Assert.Equal(["pull", "push"], Assert.Single(grants).Actions!);
        Assert.NotEqual(created.Secret, rotated.Secret);
        Assert.Equal("robot$ci", asRobot.Username);
        Assert.True(asRobot.ExpiresAt > _factory.Time.GetUtcNow());
        Assert.Empty(await admin.ListRobotsAsync(CancellationToken.None));
    }

    [Fact]
    public async Task UsersAndPublicNamespaces_RoundTrip()
    {
        var admin = Admin();

        await admin.CreateUserAsync(new CreateUserRequest("dev", "a-long-enough-password"), CancellationToken.None);
        await admin.AddPublicNamespaceAsync("public/*", CancellationToken.None);
        var users = await admin.ListUsersAsync(CancellationToken.None);
        var open = await admin.ListPublicNamespacesAsync(CancellationToken.None);
        await admin.RemovePublicNamespaceAsync("public/*", CancellationToken.None);

        Assert.Equal(["admin", "dev"], users.Select(u => u.Name).Order());
        Assert.Contains("public/*", open);
        Assert.Empty(await admin.ListPublicNamespacesAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Refusals_AreRegistryApiExceptions_WithTheSpecsErrorCodes()
    {
        var admin = Admin();
        await admin.CreateUserAsync(new CreateUserRequest("dev", "a-long-enough-password"), CancellationToken.None);

        var duplicate = await Assert.ThrowsAsync<RegistryApiException>(() => admin.CreateUserAsync(new CreateUserRequest("dev", "a-long-enough-password"), CancellationToken.None));
        var notAdmin = await Assert.ThrowsAsync<RegistryApiException>(() => new RegistryAdminClient(_factory.CreateClient(), "dev", "a-long-enough-password").ListUsersAsync(CancellationToken.None));
        var wrongPassword = await Assert.ThrowsAsync<RegistryApiException>(() => new RegistryAdminClient(_factory.CreateClient(), "admin", "wrong").ListUsersAsync(CancellationToken.None));

        Assert.Equal((HttpStatusCode.Conflict, "DENIED"), (duplicate.StatusCode, Assert.Single(duplicate.Errors).Code));
        Assert.Equal((HttpStatusCode.Forbidden, "DENIED"), (notAdmin.StatusCode, Assert.Single(notAdmin.Errors).Code));
        Assert.Equal((HttpStatusCode.Unauthorized, "UNAUTHORIZED"), (wrongPassword.StatusCode, Assert.Single(wrongPassword.Errors).Code));
        Assert.Contains("already exists", duplicate.Message, StringComparison.Ordinal);
    }
}
