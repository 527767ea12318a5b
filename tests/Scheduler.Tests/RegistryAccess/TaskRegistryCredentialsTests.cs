using System.Net;
using System.Text;
using Berth.Scheduler.RegistryAccess;
using Berth.Scheduler.V1;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Berth.Scheduler.Tests.RegistryAccess;

/// <summary>
/// Which tasks get the trusted registry's credential, and how the login password is fetched and renewed, with a
/// hand-written registry answer (the system test in Agent.Tests pulls through the real registry and engine).
/// </summary>
public sealed class TaskRegistryCredentialsTests : IDisposable
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));
    private readonly FakeRegistry _registry = new();

    [Fact]
    public async Task RunningTasksWithTrustedImages_GetTheCredential_OthersDoNot()
    {
        var (passwords, credentials) = Create();
        await passwords.StartAsync(CancellationToken.None);
        var desired = Desired(
            ("trusted", "registry.test:5000/team/web:1", LifecycleStatus.Running),
            ("hub", "busybox:1", LifecycleStatus.Running),
            ("stopping", "registry.test:5000/team/web:1", LifecycleStatus.Stopped));
        var cached = desired.Tasks.ToList();

        var result = await credentials.AttachAsync(desired, CancellationToken.None);

        var credential = Assert.Single(result.Tasks[0].RegistryCredentials);
        Assert.Equal("registry.test:5000", credential.Registry);
        Assert.Equal("robot$pull", credential.Username);
        Assert.Equal("login-password-1", credential.Password);
        Assert.Empty(result.Tasks[1].RegistryCredentials);
        Assert.Empty(result.Tasks[2].RegistryCredentials);

        // The state's cached entries are never changed: the credential lives on a clone.
        Assert.Empty(cached[0].RegistryCredentials);
        Assert.Equal("Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("robot$pull:s3cret")), _registry.LastAuthorization);
        await passwords.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task TheClone_IsReusedUntilTheCredentialIsRenewed()
    {
        var (passwords, credentials) = Create();
        await passwords.StartAsync(CancellationToken.None);
        var desired = Desired(("trusted", "registry.test:5000/team/web:1", LifecycleStatus.Running));
        var entry = desired.Tasks[0];

        var first = (await credentials.AttachAsync(desired, CancellationToken.None)).Tasks[0];
        var again = (await credentials.AttachAsync(Desired(entry), CancellationToken.None)).Tasks[0];
        Assert.Same(first, again);

        // Renewed once half of the 12 h lifetime is gone.
        await WaitUntilAsync(() => passwords.Current?.Password == "login-password-2", step: TimeSpan.FromMinutes(10));
        Assert.InRange(_time.GetUtcNow() - new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero), TimeSpan.FromHours(6), TimeSpan.FromHours(6.2));
        var renewed = (await credentials.AttachAsync(Desired(entry), CancellationToken.None)).Tasks[0];
        Assert.NotSame(first, renewed);
        Assert.Equal("login-password-2", renewed.RegistryCredentials[0].Password);
        await passwords.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task RegistryRefusing_LeavesTheTaskWithoutCredential_AndRetries()
    {
        _registry.Status = HttpStatusCode.Unauthorized;
        var (passwords, credentials) = Create();
        await passwords.StartAsync(CancellationToken.None);

        var result = await credentials.AttachAsync(Desired(("trusted", "registry.test:5000/team/web:1", LifecycleStatus.Running)), CancellationToken.None);

        Assert.Empty(result.Tasks[0].RegistryCredentials);
        _registry.Status = HttpStatusCode.OK;
        await WaitUntilAsync(() => passwords.Current is not null, step: TimeSpan.FromMilliseconds(500));
        Assert.True(_time.GetUtcNow() - new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero) < TimeSpan.FromSeconds(5), "the retry comes within seconds");
        await passwords.StopAsync(CancellationToken.None);
    }

    [Theory]
    [InlineData(null, "robot$pull", "x", null, "Url is required")]
    [InlineData("http://r:5000", null, "x", null, "Username is required")]
    [InlineData("http://r:5000", "robot$pull", null, null, "exactly one of Password and PasswordFile")]
    [InlineData("http://r:5000", "robot$pull", "x", "/f", "exactly one of Password and PasswordFile")]
    [InlineData("ftp://r:5000", "robot$pull", "x", null, "http(s)")]
    public void Validator_NamesTheSetting(string? url, string? username, string? password, string? file, string expected)
    {
        var options = new RegistryAccessOptions { Url = url is null ? null : new Uri(url), Username = username, Password = password, PasswordFile = file };

        var result = new RegistryAccessOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains(expected, result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Addresses_DefaultToTheUrlsAuthority() =>
        Assert.Equal(["registry.test:5000"], new RegistryAccessOptions { Url = new Uri("http://registry.test:5000/") }.EffectiveAddresses);

    public void Dispose() => _registry.Dispose();

    private (RegistryLoginPasswords, TaskRegistryCredentials) Create()
    {
        var options = Options.Create(new RegistryAccessOptions { Url = new Uri("http://registry.test:5000/"), Username = "robot$pull", Password = "s3cret" });
        var passwords = new RegistryLoginPasswords(new SingleClientFactory(_registry), options, _time, NullLogger<RegistryLoginPasswords>.Instance);
        return (passwords, new TaskRegistryCredentials(passwords, options));
    }

    private static DesiredState Desired(params (string Family, string Image, LifecycleStatus Status)[] tasks)
    {
        var desired = new DesiredState { Version = 1 };
        foreach (var (family, image, status) in tasks)
        {
            var arn = $"arn:berth:ecs:local:task-definition/{family}:1";
            desired.Tasks.Add(new DesiredTask { TaskId = family, TaskDefinitionArn = arn, DesiredStatus = status });
            desired.TaskDefinitions.Add(new TaskDefinitionDocument
            {
                TaskDefinitionArn = arn,
                TaskDefinitionJson = $$"""{"family":"{{family}}","containerDefinitions":[{"name":"c","image":"{{image}}","memory":32}]}""",
            });
        }

        return desired;
    }

    private static DesiredState Desired(DesiredTask entry)
    {
        var desired = new DesiredState { Version = 2, Tasks = { entry } };
        desired.TaskDefinitions.Add(new TaskDefinitionDocument
        {
            TaskDefinitionArn = entry.TaskDefinitionArn,
            TaskDefinitionJson = """{"family":"trusted","containerDefinitions":[{"name":"c","image":"registry.test:5000/team/web:1","memory":32}]}""",
        });
        return desired;
    }

    // Moves the fake clock a step at a time: the refresher registers its timer asynchronously, so one big jump could
    // come before the timer exists and never fire it.
    private async Task WaitUntilAsync(Func<bool> condition, TimeSpan step)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met within 10 s");
            await Task.Delay(5);
            _time.Advance(step);
        }
    }

    /// <summary>Answers <c>POST /api/v1/login-password</c> as the registry does, with a new password each call.</summary>
    private sealed class FakeRegistry : HttpMessageHandler
    {
        private int _calls;

        public HttpStatusCode Status { get; set; } = HttpStatusCode.OK;

        public int Calls => Volatile.Read(ref _calls);

        public string? LastAuthorization { get; private set; }

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Assert.Equal(HttpMethod.Post, request.Method);
            Assert.Equal("http://registry.test:5000/api/v1/login-password", request.RequestUri!.ToString());
            LastAuthorization = request.Headers.Authorization?.ToString();
            if (Status != HttpStatusCode.OK)
            {
                return Task.FromResult(new HttpResponseMessage(Status) { Content = new StringContent("""{"errors":[{"code":"UNAUTHORIZED","message":"incorrect username or password"}]}""") });
            }

            var n = Interlocked.Increment(ref _calls);
            var body = $$"""{"username":"robot$pull","password":"login-password-{{n}}","expiresAt":"2026-11-27T00:00:00+00:00"}""";
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(body, Encoding.UTF8, "application/json") });
        }
    }

    private sealed class SingleClientFactory(HttpMessageHandler handler) : IHttpClientFactory
    {
        public HttpClient CreateClient(string name) => new(handler, disposeHandler: false);
    }
}
