using System.Globalization;
using System.Text.Json.Nodes;
using Berth.Cli.Tests.Up;
using Berth.TestSupport;
using Xunit.Abstractions;

namespace Berth.Cli.Tests.Story;

/// <summary>
/// The end-to-end story (issue 7), with the CLI only, as a user would: a `berth up` control plane on the lab's root
/// leg plus three lab hosts in zones a, b and c, each with its own Docker engine and agent; log in; build an image
/// offline; push it; register an ECS task definition with a dynamic host port and a health check; a service of 6
/// spread over zones; scale to 9; roll out a new tag; drain a host; delete everything and see nothing left.
/// </summary>
[Trait("Category", "System")]
public sealed class EndToEndStoryTests(ITestOutputHelper output)
{
    private static readonly TimeSpan s_step = TimeSpan.FromMinutes(4);

    [Fact]
    public async Task TheWholeStory_WithTheCliOnly_OnThreeLabHosts()
    {
        await using var lab = await LabHosts.StartAsync(3, output.WriteLine);
        var work = Directory.CreateTempSubdirectory("berth-story-");
        var scope = "story-" + Guid.NewGuid().ToString("N")[..6];
        var home = Path.Combine(work.FullName, "home");
        using var cli = new CliRunner(output, home);
        var agents = new List<ServiceProcess>();
        BerthUpProcess? up = null;
        try
        {
            // The platform: `berth up` without a local agent, listening where the lab hosts reach it.
            up = await BerthUpProcess.StartAsync(home, Path.Combine(work.FullName, "data"),
            [
                "--listen", lab.RootAddress, "--no-agent",
                "--registry-port", Port(), "--scheduler-port", Port(),
            ], output.WriteLine);
            var joinToken = (await File.ReadAllTextAsync(Path.Combine(up.DataDirectory, "scheduler", "join-token"))).Trim();
            var zones = new[] { "a", "b", "c" };
            foreach (var (host, zone) in lab.Hosts.Zip(zones))
            {
                // Each host runs its agent inside its own network namespace against its own engine, as install.sh would.
                agents.Add(ServiceProcess.Start($"agent-{zone}", "nsenter",
                [
                    $"--net=/var/run/netns/{host.Namespace}", PlatformProcesses.Binary("Agent", "Berth.Agent"),
                    "--config", await EmptyConfigAsync(work), "--scheduler-url", up.SchedulerUrl, "--zone", zone,
                    "--docker-endpoint", host.DockerHost, "--data-dir", Path.Combine(work.FullName, $"agent-{zone}"), "--scope", scope,
                    "--ReservedMemory", "0", "--ImageCleanup:Enabled", "false", "--TaskCleanup:Wait", "00:00:00",
                ], output.WriteLine, new Dictionary<string, string> { ["BERTH_JOINTOKEN"] = joinToken }));
            }

            await TaskTimeouts.WaitUntilAsync(async () =>
            {
                var list = await cli.RunAsync("-o", "json", "instance", "list");
                return list.ExitCode == 0 && list.Json.AsArray().Count(i => (bool?)i!["agentConnected"] == true) == 3;
            }, TimeSpan.FromSeconds(90), "three agents to connect");
            var instances = (await cli.RunAsync("-o", "json", "instance", "list")).EnsureSuccess().Json.AsArray();
            var zoneOf = instances.ToDictionary(i => (string)i!["containerInstanceId"]!, i => (string)i!["attributes"]!.AsArray().First(a => (string?)a!["name"] == "berth.zone")!["value"]!);
            var addressOf = lab.Hosts.Zip(zones).ToDictionary(p => p.Second, p => p.First.Address);

            // Build offline on host a (FROM the imported busybox), log docker in with the admin password, push two tags.
            var h1 = lab.Hosts[0];
            await TestImages.EnsureBusyboxAsync(h1.DockerHost, output.WriteLine);
            var registryHost = new Uri(up.RegistryUrl).Authority;
            var image = $"{registryHost}/story/web";
            var docker = new Dictionary<string, string> { ["DOCKER_HOST"] = h1.DockerHost, ["DOCKER_CONFIG"] = Path.Combine(work.FullName, "docker") };
            var password = (await File.ReadAllTextAsync(Path.Combine(up.DataDirectory, "registry", "initial-admin-password"))).Trim();
            (await ProcessRunner.RunAsync("docker", ["login", registryHost, "-u", "admin", "--password-stdin"], standardInput: password, environment: docker, log: output.WriteLine)).EnsureSuccess("docker login");
            foreach (var version in new[] { "1", "2" })
            {
                var context = Directory.CreateDirectory(Path.Combine(work.FullName, "image-" + version));
                Directory.CreateDirectory(Path.Combine(context.FullName, "www"));
                await File.WriteAllTextAsync(Path.Combine(context.FullName, "www", "index.html"), $"web v{version}\n");
                await File.WriteAllTextAsync(Path.Combine(context.FullName, "Dockerfile"), $"FROM {TestImages.Busybox}\nCOPY www /www\n");
                (await ProcessRunner.RunAsync("docker", ["build", "-t", $"{image}:{version}", context.FullName], TimeSpan.FromMinutes(3), environment: docker, log: output.WriteLine)).EnsureSuccess("docker build");
                (await ProcessRunner.RunAsync("docker", ["push", $"{image}:{version}"], TimeSpan.FromMinutes(3), environment: docker, log: output.WriteLine)).EnsureSuccess("docker push");
            }

            Assert.Equal(["1", "2"], (await cli.RunAsync("-o", "json", "registry", "tags", "story/web")).EnsureSuccess().Json.AsArray().Select(t => (string?)t));

            // Task definitions: a dynamic host port (hostPort 0) and a health check that asks the server itself.
            foreach (var version in new[] { "1", "2" })
            {
                var file = Path.Combine(work.FullName, $"web-{version}.json");
                await File.WriteAllTextAsync(file, TaskDefinition($"{image}:{version}"));
                Assert.Equal($"web:{version}", (await cli.RunAsync("taskdef", "register", file)).EnsureSuccess().Output.Trim());
            }

            // A service of 6 spread over the zones: two per zone, each answering HTTP on its host port.
            var created = await cli.RunAsync("service", "create", "--name", "web", "--taskdef", "web:1", "--desired", "6",
                "--strategy", "spread(attribute:berth.zone)", "--wait", "--timeout", "4m");
            created.EnsureSuccess();
            Assert.Contains("steady", created.Output, StringComparison.Ordinal);
            await AssertServingAsync(cli, zoneOf, addressOf, expectedPerZone: 2, "web v1");

            // Scale to 9: three per zone.
            (await cli.RunAsync("service", "update", "--name", "web", "--desired", "9", "--wait", "--timeout", "4m")).EnsureSuccess();
            await AssertServingAsync(cli, zoneOf, addressOf, expectedPerZone: 3, "web v1");

            // Roll out the new tag and watch: progress lines of the old and the new deployment, then steady on web:2.
            var rolled = await cli.RunAsync("service", "update", "--name", "web", "--taskdef", "web:2", "--wait", "--timeout", "6m");
            rolled.EnsureSuccess();
            var progress = rolled.Output.Split('\n').Where(l => l.Contains("ecs-svc/", StringComparison.Ordinal)).ToList();
            Assert.Contains(progress, l => l.Contains("web:1", StringComparison.Ordinal));
            Assert.Contains(progress, l => l.Contains("web:2", StringComparison.Ordinal) && l.Contains("desired 9  running 9 ", StringComparison.Ordinal));
            await AssertServingAsync(cli, zoneOf, addressOf, expectedPerZone: 3, "web v2");

            // Drain host c: its tasks move to a and b, and the service is whole again.
            var hostC = zoneOf.First(z => z.Value == "c").Key;
            (await cli.RunAsync("instance", "drain", hostC)).EnsureSuccess();
            // Moved: nine running elsewhere, and the drained host's own count down to zero (a replaced task stays
            // counted there until its agent reports it stopped).
            await TaskTimeouts.WaitUntilAsync(async () =>
            {
                var tasks = await RunningTasksAsync(cli);
                var onC = (await cli.RunAsync("-o", "json", "instance", "describe", hostC)).EnsureSuccess().Json[0]!;
                return tasks.Count == 9 && tasks.All(t => (string?)t["containerInstanceId"] != hostC)
                    && (int?)onC["runningTasksCount"] == 0 && (int?)onC["pendingTasksCount"] == 0;
            }, s_step, "the drained host's tasks to move");
            var describedC = (await cli.RunAsync("-o", "json", "instance", "describe", hostC)).EnsureSuccess().Json[0]!;
            Assert.Equal("CONTAINER_INSTANCE_STATUS_DRAINING", (string?)describedC["status"]);
            Assert.Empty((await lab.DockerAsync(lab.Hosts[2], "ps", "-q", "--filter", $"label=berth.agent={scope}")).StandardOutput.Trim());

            // Stop everything: delete the service, stop the platform and the agents; nothing is left on any host.
            (await cli.RunAsync("service", "delete", "--name", "web", "--force")).EnsureSuccess();
            await TaskTimeouts.WaitUntilAsync(async () => (await RunningTasksAsync(cli)).Count == 0, s_step, "the service's tasks to stop");
            foreach (var host in lab.Hosts)
            {
                await TaskTimeouts.WaitUntilAsync(async () =>
                    (await lab.DockerAsync(host, "ps", "-aq", "--filter", $"label=berth.agent={scope}")).StandardOutput.Trim().Length == 0,
                    TimeSpan.FromSeconds(90), $"host {host.Number} to have no task containers");
            }

            await up.StopAsync();
            Assert.True(up.HasExited);
        }
        finally
        {
            foreach (var agent in agents)
            {
                await agent.StopAsync();
            }

            if (up is not null)
            {
                await up.DisposeAsync();
            }

            work.Delete(recursive: true);
        }
    }

    private static string Port() => TestPorts.Next().ToString(CultureInfo.InvariantCulture);

    private static async Task<string> EmptyConfigAsync(DirectoryInfo work)
    {
        var path = Path.Combine(work.FullName, "agent.json");
        await File.WriteAllTextAsync(path, "{}");
        return path;
    }

    private static string TaskDefinition(string image) => $$"""
        {
          "family": "web",
          "containerDefinitions": [{
            "name": "web",
            "image": "{{image}}",
            "memory": 32,
            "essential": true,
            "portMappings": [{ "containerPort": 8080, "hostPort": 0, "protocol": "tcp" }],
            "entryPoint": ["sh", "-c"],
            "command": ["trap 'exit 0' TERM; httpd -f -p 8080 -h /www & wait"],
            "stopTimeout": 2,
            "healthCheck": {
              "command": ["CMD-SHELL", "echo -e 'GET / HTTP/1.0\\r\\n\\r\\n' | nc 127.0.0.1 8080 | grep -q 200"],
              "interval": 5, "timeout": 3, "retries": 3, "startPeriod": 1
            }
          }]
        }
        """;

    private static async Task<List<JsonNode>> RunningTasksAsync(CliRunner cli) =>
        [.. (await cli.RunAsync("-o", "json", "task", "list", "--service", "web")).EnsureSuccess().Json.AsArray()
            .Select(t => t!).Where(t => (string?)t["lastStatus"] == "LIFECYCLE_STATUS_RUNNING")];

    /// <summary>The service's running tasks: <paramref name="expectedPerZone"/> per zone, each answering <paramref name="body"/> on its host port.</summary>
    private async Task AssertServingAsync(CliRunner cli, Dictionary<string, string> zoneOf, Dictionary<string, string> addressOf, int expectedPerZone, string body)
    {
        var tasks = await RunningTasksAsync(cli);
        var perZone = tasks.GroupBy(t => zoneOf[(string)t["containerInstanceId"]!]).ToDictionary(g => g.Key, g => g.Count());
        output.WriteLine("tasks per zone: " + string.Join(", ", perZone.OrderBy(p => p.Key).Select(p => $"{p.Key}={p.Value}")));
        Assert.Equal(new Dictionary<string, int> { ["a"] = expectedPerZone, ["b"] = expectedPerZone, ["c"] = expectedPerZone }, perZone);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        foreach (var task in tasks)
        {
            var address = addressOf[zoneOf[(string)task["containerInstanceId"]!]];
            var port = (int)task["containers"]![0]!["networkBindings"]![0]!["hostPort"]!;
            Assert.InRange(port, 49153, 65535);
            Assert.Equal(body + "\n", await http.GetStringAsync(new Uri($"http://{address}:{port}/")));
        }
    }
}
