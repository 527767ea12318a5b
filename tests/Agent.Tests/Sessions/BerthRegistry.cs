using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using Berth.TestSupport;

namespace Berth.Agent.Tests.Sessions;

/// <summary>A running Berth registry process (auth on) seen from a test: its admin, robots, and pushing to it with the docker CLI.</summary>
internal sealed class BerthRegistry(int port, string dataDirectory)
{
    /// <summary><c>127.0.0.1:PORT</c>, as image references name it.</summary>
    public string Host => $"127.0.0.1:{port}";

    public Uri Url => new($"http://{Host}/");

    public string AdminPassword => File.ReadAllText(Path.Combine(dataDirectory, "initial-admin-password")).Trim();

    public async Task WaitUntilServingAsync()
    {
        using var http = new HttpClient();
        await TaskTimeouts.WaitUntilAsync(async () =>
        {
            try
            {
                return (await http.GetAsync(new Uri(Url, "v2/"))).StatusCode == HttpStatusCode.Unauthorized
                    && File.Exists(Path.Combine(dataDirectory, "initial-admin-password"));
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(60), "the registry to answer");
    }

    /// <summary>Creates <c>robot$NAME</c> with <paramref name="actions"/> on <paramref name="pattern"/> and returns its secret.</summary>
    public async Task<(string Name, string Secret)> CreateRobotAsync(string name, string pattern, params string[] actions)
    {
        using var http = AdminClient();
        var response = await http.PostAsJsonAsync("api/v1/robots", new { name, permissions = new[] { new { pattern, actions } } });
        response.EnsureSuccessStatusCode();
        var robot = await response.Content.ReadFromJsonAsync<RobotSecret>();
        return (robot!.Name, robot.Secret);
    }

    /// <summary>Pushes a local image as <c>HOST/REPOSITORY</c> with the admin's credential, then removes the local tag.</summary>
    public async Task PushAsync(string localImage, string repositoryAndTag, Action<string> log)
    {
        // A config directory of its own: the user's ~/.docker/config.json is shared with everything else on the host.
        var config = Directory.CreateTempSubdirectory("berth-docker-config-");
        try
        {
            var target = $"{Host}/{repositoryAndTag}";
            (await ProcessRunner.RunAsync("docker", ["--config", config.FullName, "login", Host, "-u", "admin", "--password-stdin"], standardInput: AdminPassword, log: log))
                .EnsureSuccess("docker login");
            (await ProcessRunner.RunAsync("docker", ["tag", localImage, target])).EnsureSuccess("docker tag");
            (await ProcessRunner.RunAsync("docker", ["--config", config.FullName, "push", target], TimeSpan.FromMinutes(2))).EnsureSuccess("docker push");
            (await ProcessRunner.RunAsync("docker", ["rmi", target])).EnsureSuccess("docker rmi");
        }
        finally
        {
            config.Delete(recursive: true);
        }
    }

    private HttpClient AdminClient()
    {
        var http = new HttpClient { BaseAddress = Url };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"admin:{AdminPassword}")));
        return http;
    }

    private sealed record RobotSecret(string Name, string Secret);
}
