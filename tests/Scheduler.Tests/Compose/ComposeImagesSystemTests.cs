using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Berth.Scheduler.V1;
using Berth.TestSupport;
using DotNet.Testcontainers.Builders;
using DotNet.Testcontainers.Configurations;
using DotNet.Testcontainers.Images;
using DotNet.Testcontainers.Containers;
using DotNet.Testcontainers.Networks;
using DotNet.Testcontainers.Volumes;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Xunit.Abstractions;

namespace Berth.Scheduler.Tests.Compose;

/// <summary>
/// The images docker-compose.yml builds and runs (issue 12, "Build hygiene"): the registry and scheduler images built
/// from deploy/docker/Dockerfile with its PROJECT build argument, started (Testcontainers) with the compose file's
/// arguments, environment, volumes and network, answering their health endpoints and real traffic: docker login, push
/// and pull through the registry container, a gRPC call to the scheduler with the token it wrote to its volume, and
/// the pushed image still there after the registry container is replaced on the same volume. And the balancer's image
/// (issue 16): the compose file's `balancer` service, started before its credential exists, on the host's network,
/// serving a listener of the load balancer `local` once `balancer-setup`'s credential file appears on the scheduler's
/// volume.
/// </summary>
/// <remarks>
/// The images are tagged berth-test/*:compose and kept: they are the build cache (the engine's classic builder drops an
/// image's layers with it), so a second run rebuilds only what changed. See docs/architecture.md ("Tests").
/// </remarks>
[Trait("Category", "System")]
public sealed class ComposeImagesSystemTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string RegistryImage = "berth-test/registry:compose";
    private const string SchedulerImage = "berth-test/scheduler:compose";
    private const string BalancerImage = "berth-test/loadbalancer:compose";
    private static readonly string[] s_baseImages = ["berth/dotnet-runtime:10", "berth/dotnet-sdk:10"];

    private readonly string _runId = Guid.NewGuid().ToString("N")[..8];
    private readonly DirectoryInfo _dockerConfig = Directory.CreateTempSubdirectory("berth-compose-docker-");
    private readonly List<IContainer> _containers = [];
    private readonly List<IVolume> _volumes = [];
    private INetwork? _network;

    public Task InitializeAsync() => Task.CompletedTask;

    [Fact]
    public async Task ComposeImages_Build_Start_ServeDockerAndGrpc_AndKeepPushedImagesAcrossARestart()
    {
        // Testcontainers against this engine (docs: ENVIRONMENT): API 1.41, no Ryuk, the host as 127.0.0.1.
        Environment.SetEnvironmentVariable("DOCKER_API_VERSION", "1.41");
        Environment.SetEnvironmentVariable("TESTCONTAINERS_RYUK_DISABLED", "true");
        Environment.SetEnvironmentVariable("TESTCONTAINERS_HOST_OVERRIDE", "127.0.0.1");
        var repo = LabHosts.RepositoryRoot();
        await TestImages.EnsureBusyboxAsync(null, output.WriteLine);
        await EnsureBaseImagesAsync(repo);
        // One after the other: the two builds share the restore layers' base and would only fight over two cores.
        await BuildAsync(repo, "Registry", RegistryImage);
        await BuildAsync(repo, "Scheduler", SchedulerImage);

        // The compose project's network (the scheduler reaches the registry as http://registry:5000) and named volumes.
        var network = _network = new NetworkBuilder().WithName($"berth-compose-{_runId}").Build();
        await network.CreateAsync();
        var registryData = await CreateVolumeAsync("registry-data");
        var schedulerData = await CreateVolumeAsync("scheduler-data");

        var registry = await StartRegistryAsync(repo, network, registryData, hostPort: null);
        var registryPort = registry.GetMappedPublicPort(5000);
        await WaitForHealthAsync(new Uri($"http://127.0.0.1:{registryPort}"), http2: false, "registry");

        // docker login (the admin password the registry wrote to its volume), push, drop the local tag, pull it back.
        var password = Encoding.UTF8.GetString(await registry.ReadFileAsync("/data/initial-admin-password")).Trim();
        var host = $"127.0.0.1:{registryPort}";
        var image = $"{host}/compose-{_runId}/busybox:1";
        (await DockerAsync(["login", host, "--username", "admin", "--password-stdin"], password)).EnsureSuccess("docker login");
        (await DockerAsync(["tag", TestImages.Busybox, image])).EnsureSuccess("docker tag");
        (await DockerAsync(["push", image])).EnsureSuccess("docker push");
        var pushedDigest = await RepoDigestAsync(image);
        (await DockerAsync(["rmi", image])).EnsureSuccess("docker rmi");
        (await DockerAsync(["pull", image])).EnsureSuccess("docker pull");
        Assert.Equal(pushedDigest, await RepoDigestAsync(image));

        var scheduler = await StartSchedulerAsync(network, schedulerData, registryPort);
        var schedulerUrl = new Uri($"http://127.0.0.1:{scheduler.GetMappedPublicPort(7070)}");
        await WaitForHealthAsync(schedulerUrl, http2: true, "scheduler");
        var token = Encoding.UTF8.GetString(await scheduler.ReadFileAsync("/data/admin-token")).Trim();
        using (var channel = GrpcChannel.ForAddress(schedulerUrl))
        {
            var health = await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(30));
            Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Status);
            var clusters = new Berth.Scheduler.V1.Clusters.ClustersClient(channel);
            var admin = new CallOptions(new Metadata { { "authorization", "Bearer " + token } }, DateTime.UtcNow.AddSeconds(30));
            var created = await clusters.CreateClusterAsync(new CreateClusterRequest { ClusterName = "compose-" + _runId }, admin);
            var list = await clusters.ListClustersAsync(new ListClustersRequest(), admin);
            Assert.Contains(created.Cluster.Arn, list.ClusterArns);
            // Not a health probe that answers anyone: without the token the API refuses, in gRPC's own terms.
            var refused = await Assert.ThrowsAsync<RpcException>(() => clusters.ListClustersAsync(new ListClustersRequest(), deadline: DateTime.UtcNow.AddSeconds(30)).ResponseAsync);
            Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);
        }

        // A new registry container on the same volume and host port (what `docker-compose up` after `down` does): the
        // image pushed before is served from the volume.
        await registry.DisposeAsync();
        _containers.Remove(registry);
        (await DockerAsync(["rmi", image])).EnsureSuccess("docker rmi");
        await StartRegistryAsync(repo, network, registryData, registryPort);
        await WaitForHealthAsync(new Uri($"http://127.0.0.1:{registryPort}"), http2: false, "registry after the restart");
        (await DockerAsync(["pull", image])).EnsureSuccess("docker pull after the restart");
        Assert.Equal(pushedDigest, await RepoDigestAsync(image));
        (await DockerAsync(["rmi", image])).EnsureSuccess("docker rmi");
    }

    [Fact]
    public async Task ComposeBalancer_WaitsForItsCredential_ThenServesTheListenersOfLocal()
    {
        Environment.SetEnvironmentVariable("DOCKER_API_VERSION", "1.41");
        Environment.SetEnvironmentVariable("TESTCONTAINERS_RYUK_DISABLED", "true");
        Environment.SetEnvironmentVariable("TESTCONTAINERS_HOST_OVERRIDE", "127.0.0.1");
        var repo = LabHosts.RepositoryRoot();
        await EnsureBaseImagesAsync(repo);
        await BuildAsync(repo, "Scheduler", SchedulerImage);
        await BuildAsync(repo, "LoadBalancer", BalancerImage);

        var network = _network = new NetworkBuilder().WithName($"berth-compose-{_runId}").Build();
        await network.CreateAsync();
        var schedulerData = await CreateVolumeAsync("scheduler-data");
        var balancerData = await CreateVolumeAsync("balancer-data");
        // No registry here: the scheduler only retries its pull-secret file, which does not matter to a balancer.
        var scheduler = await StartSchedulerAsync(network, schedulerData, registryPort: 5000);
        var schedulerPort = scheduler.GetMappedPublicPort(7070);
        await WaitForHealthAsync(new Uri($"http://127.0.0.1:{schedulerPort}"), http2: true, "scheduler");

        // The balancer first, as `docker-compose up` may start it: it waits for the credential file.
        var adminPort = TestPorts.Next();
        await StartBalancerAsync(repo, schedulerData, balancerData, schedulerPort, adminPort);

        // What balancer-setup does (berth cluster create default; lb create local; lb credential local -o FILE), through
        // the API the CLI calls, the file written where that step writes it (the scheduler's volume, 0600).
        var token = Encoding.UTF8.GetString(await scheduler.ReadFileAsync("/data/admin-token")).Trim();
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{schedulerPort}");
        var admin = new CallOptions(new Metadata { { "authorization", "Bearer " + token } }, DateTime.UtcNow.AddSeconds(30));
        await new Berth.Scheduler.V1.Clusters.ClustersClient(channel).CreateClusterAsync(new CreateClusterRequest { ClusterName = "default" }, admin);
        var loadBalancing = new Berth.Scheduler.V1.LoadBalancing.LoadBalancingClient(channel);
        var local = (await loadBalancing.CreateLoadBalancerAsync(new CreateLoadBalancerRequest { Name = "local", Cluster = "default" }, admin)).LoadBalancer;
        var credential = (await loadBalancing.CreateBalancerCredentialAsync(new CreateBalancerCredentialRequest { LoadBalancerArn = local.LoadBalancerArn }, admin)).Credential;
        await scheduler.CopyAsync(Encoding.UTF8.GetBytes(credential + "\n"), "/data/balancer-token", fileMode: UnixFileModes.UserRead | UnixFileModes.UserWrite);

        // A listener added afterwards, as the README's walk-through does: the balancer binds it on the host's loopback.
        var listenerPort = TestPorts.Next();
        var body = "served by the compose balancer " + _runId;
        await loadBalancing.CreateListenerAsync(new CreateListenerRequest
        {
            LoadBalancerArn = local.LoadBalancerArn,
            Port = listenerPort,
            Protocol = ListenerProtocol.Http,
            DefaultActions = { new RuleAction { FixedResponse = new FixedResponseActionConfig { StatusCode = "200", ContentType = "text/plain", MessageBody = body } } },
        }, admin);

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var answer = "";
        await TaskTimeouts.WaitUntilAsync(async () =>
        {
            try
            {
                answer = await http.GetStringAsync(new Uri($"http://127.0.0.1:{listenerPort}/"));
                return true;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(90), $"the compose balancer's listener on 127.0.0.1:{listenerPort}");
        Assert.Equal(body, answer);

        // Its admin endpoint on the host's loopback: serving local, connected to the scheduler with that credential.
        var status = JsonDocument.Parse(await http.GetStringAsync(new Uri($"http://127.0.0.1:{adminPort}/status"))).RootElement;
        output.WriteLine(status.ToString());
        Assert.True(status.GetProperty("connected").GetBoolean());
        Assert.Equal(local.LoadBalancerArn, status.GetProperty("loadBalancerArn").GetString());
        Assert.Contains(status.GetProperty("listeners").EnumerateArray(), l => l.GetProperty("port").GetInt32() == listenerPort);
    }

    public async Task DisposeAsync()
    {
        // Containers first, then the volumes and the network they used. Without Ryuk, disposing a volume or a network
        // deletes nothing, and an auto-removed container goes a moment after it stops: wait for that, then delete.
        foreach (var container in _containers)
        {
            await container.DisposeAsync();
        }

        await TaskTimeouts.WaitUntilAsync(
            async () => (await ProcessRunner.RunAsync("docker", ["ps", "-aq", "--filter", $"name=berth-compose-{_runId}-"])).StandardOutput.Trim().Length == 0,
            TimeSpan.FromSeconds(30),
            "the test's containers to be removed");
        foreach (var volume in _volumes)
        {
            await volume.DeleteAsync();
        }

        if (_network is not null)
        {
            await _network.DeleteAsync();
        }

        _dockerConfig.Delete(recursive: true);
    }

    // The offline base images the Dockerfile builds FROM: made by deploy/docker/base-images.sh, only when missing
    // (it copies this host's .NET and the restored packages of this built checkout: a minute or more).
    private async Task EnsureBaseImagesAsync(string repo)
    {
        foreach (var baseImage in s_baseImages)
        {
            if ((await ProcessRunner.RunAsync("docker", ["image", "inspect", "--format", "{{.Id}}", baseImage])).ExitCode != 0)
            {
                var script = Path.Combine(repo, "deploy", "docker", "base-images.sh");
                (await ProcessRunner.RunAsync("bash", [script, baseImage.Contains("sdk", StringComparison.Ordinal) ? "sdk" : "runtime"], TimeSpan.FromMinutes(15), log: output.WriteLine))
                    .EnsureSuccess("base-images.sh");
            }
        }
    }

    // As compose's `build: { context: ., dockerfile: deploy/docker/Dockerfile, args: { PROJECT: ... } }`. Not deleted
    // before or after: the tagged image keeps its layers, the cache of the next run.
    private async Task BuildAsync(string repo, string project, string tag)
    {
        var watch = Stopwatch.StartNew();
        var image = new ImageFromDockerfileBuilder()
            .WithDockerfileDirectory(repo)
            .WithDockerfile("deploy/docker/Dockerfile")
            .WithBuildArgument("PROJECT", project)
            .WithName(tag)
            .WithDeleteIfExists(false)
            .WithCleanUp(false)
            .Build();
        await image.CreateAsync().WithTimeout(TimeSpan.FromMinutes(15));
        output.WriteLine($"built {tag} in {watch.Elapsed.TotalSeconds:0.0} s");
    }

    // docker-compose.yml's registry service: its command, env_file and volume; the port on 127.0.0.1 (a random one
    // unless given, to come back on the same one).
    private async Task<IContainer> StartRegistryAsync(string repo, INetwork network, IVolume data, ushort? hostPort)
    {
        var builder = new ContainerBuilder(RegistryImage)
            .WithImagePullPolicy(PullPolicy.Never)
            .WithAutoRemove(true)
            .WithCleanUp(true)
            .WithName($"berth-compose-{_runId}-registry-{Guid.NewGuid().ToString("N")[..4]}")
            .WithNetwork(network)
            .WithNetworkAliases("registry")
            .WithCommand("--urls", "http://0.0.0.0:5000", "--data-dir", "/data")
            .WithEnvironment(ReadEnvFile(Path.Combine(repo, "deploy", "registry.env")))
            .WithVolumeMount(data, "/data")
            .WithCreateParameterModifier(OnLoopback);
        builder = hostPort is { } port ? builder.WithPortBinding(port, 5000) : builder.WithPortBinding(5000, assignRandomHostPort: true);
        return await StartAsync(builder);
    }

    // docker-compose.yml's scheduler service: its command (the registry inside the network for pull passwords, the
    // registry's published address as the host's engine names it) and volume.
    private async Task<IContainer> StartSchedulerAsync(INetwork network, IVolume data, ushort registryPort) =>
        await StartAsync(new ContainerBuilder(SchedulerImage)
            .WithImagePullPolicy(PullPolicy.Never)
            .WithAutoRemove(true)
            .WithCleanUp(true)
            .WithName($"berth-compose-{_runId}-scheduler")
            .WithNetwork(network)
            .WithNetworkAliases("scheduler")
            .WithCommand(
                "--urls", "http://0.0.0.0:7070",
                "--data-dir", "/data",
                "--Scheduler:Registry:Url", "http://registry:5000",
                "--Scheduler:Registry:Username", "robot$cluster-pull",
                "--Scheduler:Registry:PasswordFile", "/data/registry-pull-secret",
                "--Scheduler:Registry:Addresses:0", $"127.0.0.1:{registryPort}",
                "--Scheduler:Registry:Addresses:1", $"localhost:{registryPort}")
            .WithVolumeMount(data, "/data")
            .WithPortBinding(7070, assignRandomHostPort: true)
            .WithCreateParameterModifier(OnLoopback));

    // docker-compose.yml's balancer service: its shell command (wait for the credential, then exec the balancer), its
    // env_file and volumes, on the host's network (network_mode: host), reaching the scheduler at its published port.
    private async Task<IContainer> StartBalancerAsync(string repo, IVolume schedulerData, IVolume balancerData, ushort schedulerPort, int adminPort) =>
        await StartAsync(new ContainerBuilder(BalancerImage)
            .WithImagePullPolicy(PullPolicy.Never)
            .WithAutoRemove(true)
            .WithCleanUp(true)
            .WithName($"berth-compose-{_runId}-balancer")
            .WithEnvironment(ReadEnvFile(Path.Combine(repo, "deploy", "loadbalancer.env")))
            .WithEntrypoint("/bin/sh", "-c")
            .WithCommand(
                "until [ -s /scheduler/balancer-token ]; do sleep 1; done; " +
                $"exec dotnet /app/Berth.LoadBalancer.dll --scheduler-url http://127.0.0.1:{schedulerPort} " +
                "--token-file /scheduler/balancer-token --data-dir /data --listen-address 127.0.0.1 " +
                $"--admin-url http://127.0.0.1:{adminPort}")
            .WithVolumeMount(schedulerData, "/scheduler", AccessMode.ReadOnly)
            .WithVolumeMount(balancerData, "/data")
            .WithCreateParameterModifier(OnHostNetwork));

    private async Task<IContainer> StartAsync(ContainerBuilder builder)
    {
        var container = builder.Build();
        _containers.Add(container);
        await container.StartAsync().WithTimeout(TimeSpan.FromMinutes(1));
        return container;
    }

    // network_mode: host (Testcontainers has no builder method for it).
    private static void OnHostNetwork(Docker.DotNet.Models.CreateContainerParameters parameters)
    {
        parameters.HostConfig ??= new Docker.DotNet.Models.HostConfig();
        parameters.HostConfig.NetworkMode = "host";
    }

    // Published ports on 127.0.0.1 only, as the compose file publishes them (Testcontainers binds every address).
    private static void OnLoopback(Docker.DotNet.Models.CreateContainerParameters parameters)
    {
        foreach (var bindings in parameters.HostConfig?.PortBindings?.Values ?? [])
        {
            foreach (var binding in bindings)
            {
                binding.HostIP = "127.0.0.1";
            }
        }
    }

    // /healthz then /readyz, both 200 with a Healthy body. The scheduler's port speaks HTTP/2 only (h2c).
    private async Task WaitForHealthAsync(Uri baseAddress, bool http2, string what)
    {
        using var http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(10) };
        if (http2)
        {
            http.DefaultRequestVersion = HttpVersion.Version20;
            http.DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact;
        }

        foreach (var path in new[] { "/healthz", "/readyz" })
        {
            var body = "";
            await TaskTimeouts.WaitUntilAsync(async () =>
            {
                try
                {
                    using var response = await http.GetAsync(path);
                    body = await response.Content.ReadAsStringAsync();
                    return response.StatusCode == HttpStatusCode.OK;
                }
                catch (HttpRequestException)
                {
                    return false;
                }
            }, TimeSpan.FromSeconds(60), $"{what} {path}");
            output.WriteLine($"{what} {path}: {body}");
            Assert.Equal("Healthy", JsonDocument.Parse(body).RootElement.GetProperty("status").GetString());
        }
    }

    private Task<ProcessResult> DockerAsync(string[] arguments, string? input = null) =>
        ProcessRunner.RunAsync("docker", arguments, TimeSpan.FromMinutes(2), input, new Dictionary<string, string> { ["DOCKER_CONFIG"] = _dockerConfig.FullName }, output.WriteLine);

    private async Task<string> RepoDigestAsync(string image)
    {
        var inspect = (await DockerAsync(["image", "inspect", "--format", "{{json .RepoDigests}}", image])).EnsureSuccess("docker image inspect");
        var repository = image[..image.LastIndexOf(':')];
        return JsonSerializer.Deserialize<string[]>(inspect.StandardOutput)!.Single(d => d.StartsWith(repository + "@", StringComparison.Ordinal));
    }

    // env_file: KEY=VALUE lines, # comments and blank lines skipped (the format deploy/registry.env promises).
    private static Dictionary<string, string> ReadEnvFile(string path) =>
        File.ReadAllLines(path)
            .Select(line => line.Trim())
            .Where(line => line.Length > 0 && !line.StartsWith('#'))
            .Select(line => line.Split('=', 2))
            .ToDictionary(pair => pair[0], pair => pair[1]);

    private async Task<IVolume> CreateVolumeAsync(string name)
    {
        var volume = new VolumeBuilder().WithName($"berth-compose-{_runId}-{name}").Build();
        _volumes.Add(volume);
        await volume.CreateAsync();
        return volume;
    }
}
