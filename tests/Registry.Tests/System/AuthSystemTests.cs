using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Berth.TestSupport;
using Xunit.Abstractions;

namespace Berth.Registry.Tests.SystemTests;

/// <summary>
/// Token auth as docker users meet it: docker login (refresh tokens), push, pull, logout; robots with narrow
/// permissions refused by the real CLI; the ECR-style login password; and https with a CA made in the test.
/// </summary>
[Trait("Category", "System")]
[SuppressMessage("Design", "CA1001", Justification = "xunit disposes the fields in IAsyncLifetime.DisposeAsync.")]
public sealed class AuthSystemTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan s_clientTimeout = TimeSpan.FromMinutes(2);
    private readonly string _runId = Guid.NewGuid().ToString("N")[..10];
    private readonly List<string> _images = [];
    private readonly List<string> _cleanupDirs = [];
    private readonly List<RegistryProcess> _registries = [];

    public Task InitializeAsync() => TestImages.EnsureBusyboxAsync(log: Log);

    public async Task DisposeAsync()
    {
        foreach (var image in _images)
        {
            await ProcessRunner.RunAsync("docker", ["rmi", "-f", image], log: Log);
        }

        foreach (var registry in _registries)
        {
            await ProcessRunner.RunAsync("docker", ["logout", registry.Host], log: Log);
            await registry.DisposeAsync();
        }

        foreach (var dir in _cleanupDirs.Where(Directory.Exists))
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task DockerLogin_PushPullRun_ThenLogout_PrivatePullIsDenied()
    {
        var registry = await StartAsync(new RegistryProcessOptions(Auth: true));
        var image = await TagBusyboxAsync(registry, $"private-{_runId}/app:1");

        var anonymousPush = await DockerAsync(expectSuccess: false, "push", image);
        Assert.NotEqual(0, anonymousPush.ExitCode);

        await LoginAsync(registry, "admin", registry.AdminPassword);
        await DockerAsync(expectSuccess: true, "push", image);
        await DockerAsync(expectSuccess: true, "rmi", image);
        await DockerAsync(expectSuccess: true, "pull", image);
        var run = await DockerAsync(expectSuccess: true, "run", "--rm", image, "echo", $"hello-{_runId}");
        Assert.Contains($"hello-{_runId}", run.StandardOutput, StringComparison.Ordinal);

        // docker login stored a refresh token, not the password.
        var config = await File.ReadAllTextAsync(Path.Combine(Environment.GetEnvironmentVariable("HOME") ?? "/root", ".docker", "config.json"));
        Assert.DoesNotContain(Convert.ToBase64String(Encoding.UTF8.GetBytes($"admin:{registry.AdminPassword}")), config, StringComparison.Ordinal);

        await DockerAsync(expectSuccess: true, "logout", registry.Host);
        await DockerAsync(expectSuccess: true, "rmi", image);
        var denied = await DockerAsync(expectSuccess: false, "pull", image);
        Assert.NotEqual(0, denied.ExitCode);
        Assert.Matches("(?i)unauthorized|denied|authentication required", denied.StandardError);
    }

    [Fact]
    public async Task Robots_PullOnlyCannotPush_TeamACannotTouchTeamB()
    {
        var registry = await StartAsync(new RegistryProcessOptions(Auth: true));
        using var admin = AdminClient(registry);
        var pusher = await CreateRobotAsync(admin, $"push-{_runId}", ("team-a/*", ["pull", "push"]));
        var puller = await CreateRobotAsync(admin, $"pull-{_runId}", ("team-a/*", ["pull"]));
        var teamA = await TagBusyboxAsync(registry, $"team-a/app-{_runId}:1");
        var teamB = await TagBusyboxAsync(registry, $"team-b/app-{_runId}:1");

        await LoginAsync(registry, pusher.Name, pusher.Secret);
        await DockerAsync(expectSuccess: true, "push", teamA);
        var crossTeam = await DockerAsync(expectSuccess: false, "push", teamB);
        Assert.NotEqual(0, crossTeam.ExitCode);
        Assert.Contains("denied", crossTeam.StandardError, StringComparison.OrdinalIgnoreCase);

        await LoginAsync(registry, puller.Name, puller.Secret);
        await DockerAsync(expectSuccess: true, "rmi", teamA);
        await DockerAsync(expectSuccess: true, "pull", teamA);
        await DockerAsync(expectSuccess: true, "tag", teamA, teamA.Replace(":1", ":2", StringComparison.Ordinal));
        _images.Add(teamA.Replace(":1", ":2", StringComparison.Ordinal));
        var pullOnlyPush = await DockerAsync(expectSuccess: false, "push", teamA.Replace(":1", ":2", StringComparison.Ordinal));
        Assert.NotEqual(0, pullOnlyPush.ExitCode);
        Assert.Contains("denied", pullOnlyPush.StandardError, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>
    /// Cross-repository mounts as docker does them, under token auth with robots (not admins, so every scope counts).
    /// Into a second repository the robot may read, docker mounts every layer. A second robot that may not read those
    /// repositories pushes the same image elsewhere: docker, knowing the layers are on this registry, asks to mount them
    /// from a repository that robot cannot read; each mount quietly becomes an upload (202, no challenge to chase) and
    /// the push succeeds.
    /// </summary>
    [Fact]
    public async Task DockerPush_AsRobots_MountsFromReadableRepositories_AndUploadsInsteadOfMountingFromOthers()
    {
        var registry = await StartAsync(new RegistryProcessOptions(Auth: true));
        using var admin = AdminClient(registry);
        var owner = await CreateRobotAsync(admin, $"owner-{_runId}", ($"mine-{_runId}/*", ["pull", "push"]));
        var stranger = await CreateRobotAsync(admin, $"stranger-{_runId}", ($"theirs-{_runId}/*", ["pull", "push"]));
        var first = await TagBusyboxAsync(registry, $"mine-{_runId}/first:1");
        var second = await TagBusyboxAsync(registry, $"mine-{_runId}/second:1");
        var theirs = await TagBusyboxAsync(registry, $"theirs-{_runId}/app:1");

        await LoginAsync(registry, owner.Name, owner.Secret);
        await DockerAsync(expectSuccess: true, "push", first);
        var mounted = await DockerAsync(expectSuccess: true, "push", second);
        Assert.Contains($"Mounted from mine-{_runId}/first", mounted.StandardOutput, StringComparison.Ordinal);

        await LoginAsync(registry, stranger.Name, stranger.Secret);
        var uploaded = await DockerAsync(expectSuccess: true, "push", theirs);
        Assert.DoesNotContain("Mounted from", uploaded.StandardOutput, StringComparison.Ordinal);
        await DockerAsync(expectSuccess: true, "rmi", theirs);
        await DockerAsync(expectSuccess: true, "pull", theirs);
    }

    [Fact]
    public async Task EcrStyleLoginPassword_WorksWithDockerLoginPasswordStdin()
    {
        var registry = await StartAsync(new RegistryProcessOptions(Auth: true));
        using var admin = AdminClient(registry);
        using var response = await admin.PostAsync("api/v1/login-password", null);
        response.EnsureSuccessStatusCode();
        var password = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("password").GetString()!;
        var image = await TagBusyboxAsync(registry, $"ecr-{_runId}/app:1");

        await LoginAsync(registry, "AWS", password);

        await DockerAsync(expectSuccess: true, "push", image);
    }

    /// <summary>
    /// EF Core owns the schema, but the registry process reads and writes with plain SQL and applies migrations from
    /// their scripts: loading EF Core (or the expression compiler behind it and behind runtime-built minimal API
    /// endpoints) costs ~30 MiB of resident code. Every path a user drives here, including a restart on existing
    /// databases, must leave those assemblies unloaded.
    /// </summary>
    [Fact]
    public async Task TheRegistryProcess_ServesTokensAdminPushPullAndRestart_WithoutLoadingEfCore()
    {
        var registry = await StartAsync(new RegistryProcessOptions(Auth: true));
        using (var admin = AdminClient(registry))
        {
            var robot = await CreateRobotAsync(admin, $"noef-{_runId}", ("noef/*", ["pull", "push", "delete"]));
            Assert.Contains("\"admin\"", await admin.GetStringAsync("api/v1/users"), StringComparison.Ordinal);
            using (var permission = await admin.PutAsJsonAsync("api/v1/permissions", new { principal = robot.Name, pattern = "noef/other", actions = new[] { "pull" } }))
            {
                permission.EnsureSuccessStatusCode();
            }

            var image = await TagBusyboxAsync(registry, $"noef/app-{_runId}:1");
            await LoginAsync(registry, robot.Name, robot.Secret);
            await DockerAsync(expectSuccess: true, "push", image);
            await DockerAsync(expectSuccess: true, "rmi", image);
            await DockerAsync(expectSuccess: true, "pull", image);
        }

        registry.Kill();
        await registry.RestartAsync();
        using (var admin = AdminClient(registry))
        {
            Assert.Contains($"noef-{_runId}", await admin.GetStringAsync("api/v1/robots"), StringComparison.Ordinal);
            using var token = await admin.GetAsync($"auth/token?service={registry.Host}&scope=repository:noef/app-{_runId}:pull,delete");
            token.EnsureSuccessStatusCode();
        }

        var maps = await File.ReadAllTextAsync($"/proc/{registry.ProcessId}/maps");
        Assert.Contains("Berth.Registry.dll", maps, StringComparison.Ordinal);
        Assert.DoesNotContain("Microsoft.EntityFrameworkCore", maps, StringComparison.Ordinal);
        Assert.DoesNotContain("System.Linq.Expressions", maps, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Https_WithATestCa_DockerPushesAndSkopeoVerifiesTheChain()
    {
        var pki = TempDir("pki");
        var (caPem, certPath, keyPath) = MakeCertificates(pki);
        var registry = await StartAsync(new RegistryProcessOptions(Auth: true, certPath, keyPath));
        Assert.Equal("https", registry.BaseAddress.Scheme);

        // How docker is told to trust the registry's CA (docs/registry.md): /etc/docker/certs.d/<host:port>/ca.crt.
        var certsDir = $"/etc/docker/certs.d/{registry.Host}";
        Directory.CreateDirectory(certsDir);
        _cleanupDirs.Add(certsDir);
        await File.WriteAllTextAsync(Path.Combine(certsDir, "ca.crt"), caPem);
        var image = await TagBusyboxAsync(registry, $"tls-{_runId}/app:1");

        await LoginAsync(registry, "admin", registry.AdminPassword);
        await DockerAsync(expectSuccess: true, "push", image);

        // Docker treats loopback registries as insecure, so skopeo checks the chain strictly: with the CA it works,
        // without it the same call fails.
        var creds = $"admin:{registry.AdminPassword}";
        var trusted = await ProcessRunner.RunAsync("skopeo", ["inspect", "--tls-verify=true", "--cert-dir", certsDir, "--creds", creds, $"docker://{image}"], s_clientTimeout, log: Log);
        var untrusted = await ProcessRunner.RunAsync("skopeo", ["inspect", "--tls-verify=true", "--cert-dir", TempDir("empty"), "--creds", creds, $"docker://{image}"], s_clientTimeout, log: Log);
        Assert.Equal(0, trusted.ExitCode);
        Assert.Contains($"tls-{_runId}/app", trusted.StandardOutput, StringComparison.Ordinal);
        Assert.NotEqual(0, untrusted.ExitCode);
        Assert.Contains("certificate", untrusted.StandardError, StringComparison.OrdinalIgnoreCase);
    }

    private async Task<RegistryProcess> StartAsync(RegistryProcessOptions options)
    {
        var registry = await RegistryProcess.StartAsync(Log, RegistryKind.Berth, options).WithTimeout(TimeSpan.FromMinutes(2));
        _registries.Add(registry);
        return registry;
    }

    private async Task<string> TagBusyboxAsync(RegistryProcess registry, string repositoryAndTag)
    {
        var image = $"{registry.Host}/{repositoryAndTag}";
        await DockerAsync(expectSuccess: true, "tag", TestImages.Busybox, image);
        _images.Add(image);
        return image;
    }

    private async Task LoginAsync(RegistryProcess registry, string user, string password)
    {
        var login = await ProcessRunner.RunAsync("docker", ["login", registry.Host, "-u", user, "--password-stdin"], s_clientTimeout, standardInput: password + "\n", log: Log);
        login.EnsureSuccess($"docker login as {user}");
    }

    private async Task<ProcessResult> DockerAsync(bool expectSuccess, params string[] arguments)
    {
        var result = await ProcessRunner.RunAsync("docker", arguments, s_clientTimeout, log: Log);
        return expectSuccess ? result.EnsureSuccess("docker " + string.Join(' ', arguments)) : result;
    }

    private static HttpClient AdminClient(RegistryProcess registry)
    {
        var client = new HttpClient { BaseAddress = registry.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"admin:{registry.AdminPassword}")));
        return client;
    }

    private static async Task<(string Name, string Secret)> CreateRobotAsync(HttpClient admin, string name, params (string Pattern, string[] Actions)[] permissions)
    {
        using var response = await admin.PostAsJsonAsync("api/v1/robots", new { name, permissions = permissions.Select(p => new { pattern = p.Pattern, actions = p.Actions }) });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        return (body.GetProperty("name").GetString()!, body.GetProperty("secret").GetString()!);
    }

    private static (string CaPem, string CertPath, string KeyPath) MakeCertificates(string dir)
    {
        var now = DateTimeOffset.UtcNow;
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=Berth Test CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        using var ca = caRequest.CreateSelfSigned(now.AddHours(-1), now.AddDays(1));

        using var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=127.0.0.1", serverKey, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var server = request.Create(ca, now.AddHours(-1), now.AddDays(1), RandomNumberGenerator.GetBytes(16));

        var certPath = Path.Combine(dir, "registry.crt");
        var keyPath = Path.Combine(dir, "registry.key");
        File.WriteAllText(certPath, server.ExportCertificatePem());
        File.WriteAllText(keyPath, serverKey.ExportPkcs8PrivateKeyPem());
        return (ca.ExportCertificatePem(), certPath, keyPath);
    }

    private string TempDir(string name)
    {
        var dir = Directory.CreateTempSubdirectory($"berth-auth-{name}-").FullName;
        _cleanupDirs.Add(dir);
        return dir;
    }

    private void Log(string line)
    {
        try
        {
            output.WriteLine(line);
        }
        catch (InvalidOperationException)
        {
            // Output arriving after the test finished has nowhere to go.
        }
    }
}

