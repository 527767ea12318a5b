using System.Text.Json.Nodes;
using Berth.TestSupport;
using Xunit.Abstractions;

namespace Berth.Cli.Tests.Up;

/// <summary>
/// Issue 17's embedded default through <c>berth up</c> as root: the platform it starts runs the FARGATE pool on lab
/// hosts with no scheduler started by hand. A FARGATE service's task, whose image was pushed to <c>127.0.0.1:PORT</c>
/// under its usual name, runs on a pool host the platform made; the host routes the local agent's task subnet through
/// the lab's root leg; a restart of <c>berth up</c> keeps the host and its task and adopts them; scaled to 0, the pool
/// retires the host, and stopping <c>berth up</c> then leaves nothing of the lab. Needs root, dockerd, iptables,
/// containernetworking-plugins and busybox-static (as the lab tests do).
/// </summary>
[Trait("Category", "System")]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class UpFargateTests(ITestOutputHelper output)
{
    [Fact]
    public async Task UpAsRoot_RunsAFargateTaskOnAPoolHost_WithTheImageByItsLoopbackName_AdoptsIt_AndLeavesNothingAfterScaleToZero()
    {
        await using var space = await UpWorkspace.CreateAsync("up-fargate", output);
        var (scope, registryPort, data) = (space.Scope, space.RegistryPort, space.DataDirectory);
        var arguments = space.Arguments("--no-balancer", "--fargate-idle-timeout", "5s");
        // berth up's parts inherit its environment: the scheduler's capacity and host group passes run every 2 s, not 15/10 s.
        var environment = new Dictionary<string, string> { ["CapacityProviders__Interval"] = "00:00:02", ["HostGroups__Interval"] = "00:00:02" };
        using var cli = new CliRunner(output, space.Home);
        var up = await space.StartUpAsync(output, arguments, environment);
        var labDirectory = Path.Combine(data, "fargate", "lab");
        var labId = "";
        var pushed = $"127.0.0.1:{registryPort}/team-a/fargate:1";
        try
        {
            var fargate = up.Summary["fargate"]!;
            Assert.True((bool)fargate["pool"]!, fargate.ToJsonString());
            labId = (string)fargate["lab"]!;
            var root = (string)fargate["rootAddress"]!;
            Assert.Equal(labDirectory, (string?)fargate["labDirectory"]);

            // The image goes to the platform's registry as a user pushes it, by its loopback name; the engine keeps no copy.
            var login = await ProcessRunner.RunAsync("docker", ["login", $"127.0.0.1:{registryPort}", "-u", "admin", "--password-stdin"],
                standardInput: await File.ReadAllTextAsync(Path.Combine(data, "registry", "initial-admin-password")));
            login.EnsureSuccess("docker login");
            (await ProcessRunner.RunAsync("docker", ["tag", TestImages.Busybox, pushed])).EnsureSuccess("docker tag");
            (await ProcessRunner.RunAsync("docker", ["push", pushed], TimeSpan.FromSeconds(120))).EnsureSuccess("docker push");
            (await ProcessRunner.RunAsync("docker", ["rmi", pushed])).EnsureSuccess("docker rmi");

            var taskdef = Path.Combine(space.WorkDirectory, "web.json");
            await File.WriteAllTextAsync(taskdef, $$"""
                {"family":"web-{{scope}}","networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],"cpu":"256","memory":"512",
                 "containerDefinitions":[{"name":"app","image":"{{pushed}}","stopTimeout":2,"portMappings":[{"containerPort":8080}],
                   "entryPoint":["sh","-c"],"command":["trap 'exit 0' TERM; while true; do echo hello | nc -l -p 8080; done & wait"]}]}
                """);
            (await cli.RunAsync("taskdef", "register", taskdef)).EnsureSuccess();
            (await cli.RunAsync("service", "create", "--name", "web", "--taskdef", $"web-{scope}", "--launch-type", "FARGATE", "--desired", "1")).EnsureSuccess();

            var task = await WaitForTaskAsync(cli, t => (string?)t["lastStatus"] == "LIFECYCLE_STATUS_RUNNING" && Address(t).Length > 0, "the FARGATE task RUNNING with an address");
            var instanceArn = (string)task["containerInstanceArn"]!;
            output.WriteLine($"task {(string)task["taskId"]!} RUNNING at {Address(task)} on {instanceArn}");

            // On a pool host, not the local agent: the user's list shows only the local agent; asked, the pool host too.
            var mine = (await cli.RunAsync("-o", "json", "instance", "list")).EnsureSuccess().Json.AsArray();
            Assert.DoesNotContain(mine, i => (string?)i!["containerInstanceArn"] == instanceArn);
            var all = (await cli.RunAsync("-o", "json", "instance", "list", "--include-fargate")).EnsureSuccess().Json.AsArray();
            Assert.Contains(all, i => (string?)i!["containerInstanceArn"] == instanceArn);

            // The pool host is the lab's: its engine runs the task's container from the image by the name it was pushed with.
            var host = Assert.Single(Directory.GetDirectories(labDirectory, "h*"));
            var engine = "unix://" + Path.Combine(host, "docker.sock");
            var images = (await ProcessRunner.RunAsync("docker", ["-H", engine, "ps", "--format", "{{.Image}}"])).EnsureSuccess("docker ps on the pool host").StandardOutput;
            Assert.Contains(pushed, images.Split('\n', StringSplitOptions.TrimEntries));

            // The local agent's session comes over the root leg: the pool host routes the local agent's task subnet through it.
            var ns = $"berth-lab-{labId}-{Path.GetFileName(host)}";
            await TaskTimeouts.WaitUntilAsync(async () =>
                (await ProcessRunner.RunAsync("nsenter", [$"--net=/var/run/netns/{ns}", "ip", "route", "show", "proto", "201"])).StandardOutput.Contains($"via {root} ", StringComparison.Ordinal),
                TimeSpan.FromSeconds(60), "the pool host's route to the local agent's task subnet through the root leg");

            var status = (await cli.RunAsync("-o", "json", "status", "--data-dir", data)).EnsureSuccess().Json;
            Assert.Single(status["fargate"]!["hosts"]!.AsArray());

            // Stopped, the platform leaves the pool host running with its task (and says so); the next berth up adopts both.
            await up.StopAsync();
            Assert.Contains(up.Lines, l => l.Contains("FARGATE pool host(s) keep running", StringComparison.Ordinal));
            Assert.Single(Directory.GetDirectories(labDirectory, "h*"));
            await up.RestartAsync(arguments, output.WriteLine);
            Assert.Equal(labId, (string?)up.Summary["fargate"]!["lab"]);
            var adopted = await WaitForTaskAsync(cli, t => (string?)t["taskId"] == (string)task["taskId"]! && (string?)t["lastStatus"] == "LIFECYCLE_STATUS_RUNNING", "the task adopted after the restart");
            Assert.Equal(instanceArn, (string?)adopted["containerInstanceArn"]);
            await TaskTimeouts.WaitUntilAsync(async () =>
                (await cli.RunAsync("-o", "json", "instance", "list", "--include-fargate")).Json.AsArray().Any(i => (string?)i!["containerInstanceArn"] == instanceArn && (bool?)i["agentConnected"] == true),
                TimeSpan.FromSeconds(90), "the pool host's agent to reconnect to the new scheduler");

            // Scaled to 0, the pool retires its host after the idle timeout: instance INACTIVE, nothing left in the lab.
            (await cli.RunAsync("service", "update", "--name", "web", "--desired", "0", "--wait", "--timeout", "120s")).EnsureSuccess();
            await TaskTimeouts.WaitUntilAsync(() => Task.FromResult(Directory.GetDirectories(labDirectory, "h*").Length == 0), TimeSpan.FromMinutes(3), "the pool to retire its host");
            // The host's namespace can go before the scheduler has recorded the deregistration (a loaded CI run saw an
            // empty INACTIVE list right after): wait for it.
            await TaskTimeouts.WaitUntilAsync(
                async () => (await cli.RunAsync("-o", "json", "instance", "list", "--include-fargate", "--status", "INACTIVE")).EnsureSuccess().Json.AsArray()
                    .Any(i => (string?)i!["containerInstanceArn"] == instanceArn),
                TimeSpan.FromSeconds(90), "the retired pool host INACTIVE");
            Assert.DoesNotContain(await NamespacesAsync(), n => n.StartsWith($"berth-lab-{labId}-h", StringComparison.Ordinal));

            // With no host left, stopping the platform removes the lab: its switch, its root leg and its directory.
            await up.StopAsync();
            Assert.DoesNotContain(await NamespacesAsync(), n => n.StartsWith($"berth-lab-{labId}-", StringComparison.Ordinal));
            Assert.DoesNotContain($"bl{labId}r", (await ProcessRunner.RunAsync("ip", ["-o", "link", "show"])).StandardOutput, StringComparison.Ordinal);
            Assert.False(Directory.Exists(labDirectory));
            Assert.True(File.Exists(Path.Combine(data, "fargate", "lab.json")), "the lab's identity is kept for the next start");
        }
        finally
        {
            // Stops berth up and removes whatever the test left of the lab (a failure half-way): the lab with its hosts.
            await up.DisposeAsync();
            await ProcessRunner.RunAsync("docker", ["rmi", pushed]);
        }
    }

    private static async Task<JsonNode> WaitForTaskAsync(CliRunner cli, Func<JsonNode, bool> condition, string what)
    {
        JsonNode? found = null;
        await TaskTimeouts.WaitUntilAsync(async () =>
        {
            var list = await cli.RunAsync("-o", "json", "task", "list", "--service", "web");
            found = list.ExitCode == 0 ? list.Json.AsArray().FirstOrDefault(t => t is not null && condition(t)) : null;
            return found is not null;
        }, TimeSpan.FromMinutes(3), what);
        return found!;
    }

    private static string Address(JsonNode task) =>
        task["attachments"]?.AsArray().SelectMany(a => a!["details"]?.AsArray() ?? []).FirstOrDefault(d => (string?)d!["name"] == "privateIPv4Address")?["value"]?.GetValue<string>() ?? "";

    private static async Task<string[]> NamespacesAsync() =>
        (await ProcessRunner.RunAsync("ip", ["netns", "list"])).StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')[0]).ToArray();
}
