using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Berth.Cli.Common;
using Berth.Cli.Configuration;
using Berth.RegistryAdmin;
using Berth.Scheduler.V1;
using Grpc.Core;

namespace Berth.Cli.Up;

/// <summary>What <c>berth up</c> starts, and where.</summary>
/// <param name="Fargate">Whether to run the FARGATE pool on lab hosts (when this machine can make them: <see cref="FargateLab.Problem"/>).</param>
/// <param name="FargateIdleTimeout">How long an empty pool host is kept before the pool retires it; null for the scheduler's default (5 min).</param>
internal sealed record UpOptions(string DataDirectory, string ListenAddress, int RegistryPort, int SchedulerPort, bool StartAgent, string Zone, string Cluster, string AgentScope, bool StartBalancer = true, int BalancerAdminPort = 0,
    bool Fargate = true, TimeSpan? FargateIdleTimeout = null);

/// <summary>
/// <c>berth up</c>: the registry, the scheduler and one agent as child processes of this one, state under one data
/// directory, until Ctrl-C or SIGTERM. Stopping stops the processes, never the tasks: containers belong to the
/// engine, and the next <c>berth up</c> starts an agent that adopts them (its identity is in the data directory).
/// As root on a machine that can make lab hosts, the scheduler also runs the FARGATE pool on them (<see cref="FargateLab"/>):
/// the registry and the scheduler listen on the lab's root leg too, and the local agent connects through it.
/// </summary>
internal sealed class LocalPlatform(CliContext context, UpOptions options, PlatformBinaries binaries)
{
    private static readonly TimeSpan s_startDeadline = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan s_stopGrace = TimeSpan.FromSeconds(20);
    private readonly List<ChildProcess> _children = [];
    private readonly RunFiles _run = new(options.DataDirectory);
    private int? _balancerAdminPort;
    private FargateLab? _lab;
    private string? _fargateOff;

    private PlatformDataDirectory? _layout;

    private PlatformDataDirectory Layout => _layout ?? throw new InvalidOperationException("the data directory is not open yet");

    // Before the layout is open (the checks that refuse to start), the directory as given, made absolute.
    private string Data => _layout?.Root ?? Path.GetFullPath(options.DataDirectory);

    private Uri RegistryUrl => new($"http://{Host}:{options.RegistryPort}");

    private Uri SchedulerUrl => new($"http://{Host}:{options.SchedulerPort}");

    private string Host => options.ListenAddress.Contains(':', StringComparison.Ordinal) ? $"[{options.ListenAddress}]" : options.ListenAddress;

    // With the FARGATE pool on, the lab's hosts reach the scheduler and the registry on the lab's root leg.
    private Uri? LabSchedulerUrl => _lab is null ? null : new($"http://{_lab.RootAddress}:{options.SchedulerPort}");

    private string Urls(Uri url, int port) =>
        url.ToString().TrimEnd('/') + (_lab is null ? "" : $";http://{_lab.RootAddress}:{port}");

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var dockerEndpoint = DockerEngineProbe.Endpoint(context.Environment.Variable);
        if (options.StartAgent && await DockerEngineProbe.ProblemAsync(dockerEndpoint, cancellationToken) is { } problem)
        {
            throw new CliException($"no Docker engine answers: {problem}.\n{DockerEngineProbe.HowToGetOne}");
        }

        if (_run.LivePid("up") is { } running)
        {
            throw new CliException($"a platform is already running from {Relative(Data)} (berth up, pid {running}). `berth status --data-dir {Relative(Data)}` shows it, `berth down --data-dir {Relative(Data)}` stops it.");
        }

        EnsurePortFree(options.RegistryPort, "--registry-port");
        EnsurePortFree(options.SchedulerPort, "--scheduler-port");
        _layout = PlatformDataDirectory.Open(options.DataDirectory);
        _run.WritePid("up", Environment.ProcessId);
        try
        {
            await OpenFargateLabAsync(cancellationToken);
            var registry = Start("registry", binaries.Registry, ["--urls", Urls(RegistryUrl, options.RegistryPort), "--data-dir", Layout.Registry],
                DeployEnvironment.Resolve(DeployEnvironment.Registry, context.Environment.Variable));
            var scheduler = Start("scheduler", binaries.Scheduler,
            [
                "--urls", Urls(SchedulerUrl, options.SchedulerPort), "--data-dir", Layout.Scheduler,
                // Tasks pull from the local registry as a pull-only robot: the scheduler hands each task a short-lived
                // login password of it. The secret file is written below once the registry answers; the scheduler
                // retries until it is there.
                "--Scheduler:Registry:Url", RegistryUrl.ToString().TrimEnd('/'),
                "--Scheduler:Registry:Username", "robot$" + PullRobot,
                "--Scheduler:Registry:PasswordFile", PullSecretFile,
                .. FargateSchedulerArguments(),
            ]);
            using var startup = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            startup.CancelAfter(s_startDeadline);
            var token = await WaitForSchedulerAsync(scheduler, startup.Token);
            using var client = new SchedulerClient(SchedulerUrl, token);
            await client.Clusters.CreateClusterAsync(new CreateClusterRequest { ClusterName = options.Cluster }, cancellationToken: startup.Token);
            // The agent needs only the scheduler: it registers while the registry finishes starting.
            var agent = options.StartAgent ? StartAgent(dockerEndpoint) : null;
            await WaitForRegistryAsync(registry, startup.Token);
            var registryPassword = ReadSecret(Layout.InitialAdminPassword);
            await EnsurePullRobotAsync(registryPassword, startup.Token);
            if (agent is not null)
            {
                await WaitForAgentAsync(agent, client, startup.Token);
            }

            if (options.StartBalancer)
            {
                await StartBalancerAsync(client, startup.Token);
            }

            Login(token, registryPassword);
            _run.WritePlatform(new PlatformInfo(Environment.ProcessId, RegistryUrl.ToString(), SchedulerUrl.ToString(), options.Cluster, options.StartAgent,
                DateTimeOffset.UtcNow, Math.Round(clock.Elapsed.TotalSeconds, 2), _lab?.Id, _lab?.Net, _lab?.ScriptsDirectory, _fargateOff));
            PrintReady(clock.Elapsed, registryPassword is not null);
            return await SuperviseAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new CliException($"the platform did not become ready within {s_startDeadline.TotalSeconds:0} s; see the logs in {Layout.Logs}.");
        }
        finally
        {
            await StopAllAsync();
            await LeaveFargateLabAsync();
            _run.Clear();
        }
    }

    /// <summary>
    /// Turns the FARGATE pool on when asked and this machine can make lab hosts: the lab (chosen once per data directory)
    /// and its network, whose root leg the registry and the scheduler then listen on too. Otherwise says why it is off.
    /// </summary>
    private async Task OpenFargateLabAsync(CancellationToken ct)
    {
        if (!options.Fargate)
        {
            _fargateOff = "off (--no-fargate): FARGATE tasks are placed on this host's agent";
            return;
        }

        var scripts = FargateLab.ScriptsBeside(binaries);
        if (FargateLab.Problem(scripts, Layout.Root, options.ListenAddress, context.Environment.Variable) is { } problem)
        {
            _fargateOff = problem + "; they are placed on this host's agent until then";
            return;
        }

        var lab = await FargateLab.OpenAsync(Layout, scripts, ct);
        await lab.EnsureNetworkAsync(ct);
        _lab = lab;
        EnsurePortFree(lab.RootAddress, options.RegistryPort, "--registry-port");
        EnsurePortFree(lab.RootAddress, options.SchedulerPort, "--scheduler-port");
    }

    /// <summary>The scheduler's settings for the pool: the lab provisioner on <see cref="_lab"/>, hosts joining on the root leg.</summary>
    private List<string> FargateSchedulerArguments()
    {
        if (_lab is not { } lab)
        {
            return [];
        }

        List<string> arguments =
        [
            "--Provisioning:Kind", "lab",
            "--Provisioning:Lab:Id", lab.Id,
            "--Provisioning:Lab:Net", lab.Net.ToString(CultureInfo.InvariantCulture),
            "--Provisioning:Lab:DataDirectory", lab.Directory,
            "--Provisioning:Lab:ScriptsDirectory", lab.ScriptsDirectory,
            "--Provisioning:Lab:AgentPath", binaries.Agent,
            // Inside each host 127.0.0.1:PORT is the registry on the root leg: images keep the names they were pushed with.
            "--Provisioning:Lab:ForwardedPorts:0", options.RegistryPort.ToString(CultureInfo.InvariantCulture),
            // The join and agent URL the provisioner hands each host: 127.0.0.1 would be the host's own namespace.
            "--HostGroups:SchedulerUrl", LabSchedulerUrl!.ToString(),
        ];
        if (options.FargateIdleTimeout is { } idle)
        {
            arguments.AddRange(["--FargatePool:IdleTimeout", idle.ToString("c", CultureInfo.InvariantCulture)]);
        }

        return arguments;
    }

    /// <summary>
    /// After the parts stopped: an empty lab goes (its network and directory); a lab with pool hosts stays, hosts and tasks
    /// running, for the next <c>berth up</c> to adopt (its scheduler's pool retires them once idle).
    /// </summary>
    private async Task LeaveFargateLabAsync()
    {
        if (_lab is null)
        {
            return;
        }

        try
        {
            var remaining = await _lab.TearDownIfEmptyAsync(CancellationToken.None);
            if (remaining.Count > 0)
            {
                context.Output.Say(FargateHostsLeft(_lab, remaining));
            }
        }
        catch (CliException ex)
        {
            context.Output.Error.WriteLine($"warning: the FARGATE pool's lab was not removed: {ex.Message}");
        }
    }

    /// <summary>What stays of the pool when the platform stops, and how to remove it.</summary>
    internal static string FargateHostsLeft(FargateLab lab, IReadOnlyList<string> hosts) =>
        $"{hosts.Count} FARGATE pool host(s) keep running with their tasks ({string.Join(", ", hosts)}): the next `berth up` adopts them and its pool retires them once idle. To remove them now: {lab.DownCommand}";

    /// <summary>
    /// <c>berth up --detach</c>: starts <c>berth up</c> again in the background (its own session, so the terminal's
    /// Ctrl-C and hang-up do not reach it; output in <c>logs/up.log</c>), waits until it is ready, prints what the
    /// foreground one prints, and returns. <c>berth status</c> and <c>berth down</c> find it by its PID files.
    /// </summary>
    public async Task<int> RunDetachedAsync(IReadOnlyList<string> upArguments, CancellationToken cancellationToken)
    {
        if (_run.LivePid("up") is { } running)
        {
            throw new CliException($"a platform is already running from {Relative(Data)} (berth up, pid {running}). `berth status --data-dir {Relative(Data)}` shows it, `berth down --data-dir {Relative(Data)}` stops it.");
        }

        // The background `berth up` opens the same layout; opening it here makes the log's directory private first.
        _layout = PlatformDataDirectory.Open(options.DataDirectory);
        var info = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        // sh only sets up the streams, then becomes setsid, which becomes `dotnet berth.dll up ...`.
        foreach (var argument in new[] { "-c", "exec \"$@\" >>\"$BERTH_UP_LOG\" 2>&1 </dev/null", "sh" })
        {
            info.ArgumentList.Add(argument);
        }

        if (File.Exists("/usr/bin/setsid"))
        {
            info.ArgumentList.Add("/usr/bin/setsid");
        }

        // The same runtime as this process when it is `dotnet` (not an app host such as a test host).
        info.ArgumentList.Add(Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet" ? Environment.ProcessPath! : "dotnet");
        info.ArgumentList.Add(typeof(LocalPlatform).Assembly.Location);
        foreach (var argument in upArguments)
        {
            info.ArgumentList.Add(argument);
        }

        info.Environment["BERTH_UP_LOG"] = _run.UpLog;
        info.Environment["BERTH_HOME"] = context.Environment.HomeDirectory;
        using var process = Process.Start(info)!;
        var deadline = DateTime.UtcNow + s_startDeadline + TimeSpan.FromSeconds(30);
        PlatformInfo? ready;
        while ((ready = _run.Platform()) is null)
        {
            if (process.HasExited || DateTime.UtcNow > deadline)
            {
                var tail = File.Exists(_run.UpLog) ? File.ReadAllLines(_run.UpLog).TakeLast(20) : [];
                throw new CliException($"berth up did not start in the background; the last lines of {Relative(_run.UpLog)}:\n  " + string.Join("\n  ", tail));
            }

            await Task.Delay(200, cancellationToken);
        }

        // The background berth up decided about the pool; its summary says what it decided.
        _lab = FargateLab.Of(ready, Layout.Root);
        _fargateOff = ready.FargateOff;
        PrintReady(TimeSpan.FromSeconds(ready.ReadySeconds), File.Exists(Layout.InitialAdminPassword), detachedPid: ready.Pid);
        return ExitCodes.Success;
    }

    private const string PullRobot = "cluster-pull";

    private string PullSecretFile => Layout.RegistryPullSecret;

    /// <summary>Creates the pull robot (pull on everything) on the first start; gives it a new secret if the file was lost.</summary>
    private async Task EnsurePullRobotAsync(string? adminPassword, CancellationToken ct)
    {
        if (ReadSecret(PullSecretFile) is not null || adminPassword is null)
        {
            return;
        }

        using var registry = new Registry.RegistryClient(RegistryUrl, "admin", adminPassword);
        await Registry.RobotSecrets.EnsureAsync(
            registry,
            PullRobot,
            "berth up: the scheduler hands tasks short-lived pull credentials of this robot",
            [new PermissionGrant("*", ["pull"])],
            PullSecretFile,
            ct);
    }

    private ChildProcess Start(string name, string dll, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var child = ChildProcess.Start(name, dll, arguments, Layout.Log(name), environment);
        _children.Add(child);
        _run.WritePid(name, child.Id);
        return child;
    }

    private ChildProcess StartAgent(string dockerEndpoint)
    {
        // An explicit, empty config file: the local agent must not pick up a host-wide /etc/berth/agent.json.
        var config = Layout.AgentConfig;
        if (!File.Exists(config))
        {
            Core.IO.OwnerOnlyFile.WriteAtomic(config, "{}", durable: false);
        }

        return Start("agent", binaries.Agent,
        [
            "--config", config,
            // With the pool on, through the lab's root leg: the address a session comes from is the one every other host of
            // the cluster routes this host's awsvpc task subnet through, and the pool hosts reach only the root leg.
            // Load balancers keep reaching its published ports on loopback (--advertise-address).
            "--scheduler-url", (LabSchedulerUrl ?? SchedulerUrl).ToString().TrimEnd('/'),
            .. _lab is null ? Array.Empty<string>() : ["--advertise-address", "127.0.0.1"],
            "--cluster", options.Cluster,
            "--zone", options.Zone,
            "--data-dir", Layout.AgentData,
            "--scope", options.AgentScope,
            "--docker-endpoint", dockerEndpoint,
        ],
        // The join token travels in the environment, not the command line that `ps` shows every user.
        new Dictionary<string, string> { ["BERTH_JOINTOKEN"] = ReadSecret(Layout.JoinToken) ?? string.Empty });
    }

    /// <summary>The load balancer <c>berth up</c> makes in the cluster and serves with one balancer process.</summary>
    public const string LocalLoadBalancer = "local";

    /// <summary>
    /// Makes the load balancer <c>local</c> (once) and a balancer credential for it (kept in the balancer's data
    /// directory, 0600), and starts one balancer process serving it; its listeners are the user's to add.
    /// </summary>
    private async Task StartBalancerAsync(SchedulerClient client, CancellationToken ct)
    {
        try
        {
            await client.LoadBalancing.CreateLoadBalancerAsync(new CreateLoadBalancerRequest { Name = LocalLoadBalancer, Cluster = options.Cluster }, cancellationToken: ct);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.AlreadyExists)
        {
            // Made by an earlier `berth up`.
        }

        if (ReadSecret(Layout.BalancerToken) is null)
        {
            var credential = (await client.LoadBalancing.CreateBalancerCredentialAsync(new CreateBalancerCredentialRequest { LoadBalancerArn = LocalLoadBalancer }, cancellationToken: ct)).Credential;
            Core.IO.OwnerOnlyFile.WriteAtomic(Layout.BalancerToken, credential + "\n");
        }

        Start("balancer", binaries.LoadBalancer,
        [
            "--scheduler-url", SchedulerUrl.ToString().TrimEnd('/'),
            "--token-file", Layout.BalancerToken,
            "--data-dir", Layout.Balancer,
            "--listen-address", options.ListenAddress,
            "--admin-url", $"http://127.0.0.1:{BalancerAdminPort}",
        ], DeployEnvironment.Resolve(DeployEnvironment.LoadBalancer, context.Environment.Variable));
    }

    // A free port unless one was asked for: several platforms (and tests) on one machine must not collide on it.
    private int BalancerAdminPort => _balancerAdminPort ??= options.BalancerAdminPort != 0 ? options.BalancerAdminPort : FreeLoopbackPort();

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private async Task<string> WaitForSchedulerAsync(ChildProcess scheduler, CancellationToken ct)
    {
        var tokenFile = Layout.AdminToken;
        while (true)
        {
            ThrowIfExited(scheduler);
            if (ReadSecret(tokenFile) is { } token)
            {
                using var client = new SchedulerClient(SchedulerUrl, token);
                try
                {
                    await client.Clusters.ListClustersAsync(new ListClustersRequest { MaxResults = 1 }, cancellationToken: ct);
                    return token;
                }
                catch (RpcException e) when (e.StatusCode == StatusCode.Unavailable)
                {
                }
            }

            await Task.Delay(100, ct);
        }
    }

    private async Task WaitForRegistryAsync(ChildProcess registry, CancellationToken ct)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        while (true)
        {
            ThrowIfExited(registry);
            try
            {
                // Any HTTP answer (401 for a private registry) means it serves the v2 API.
                using var response = await http.GetAsync(new Uri(RegistryUrl, "/v2/"), ct);
                return;
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(100, ct);
        }
    }

    private async Task WaitForAgentAsync(ChildProcess agent, SchedulerClient client, CancellationToken ct)
    {
        while (true)
        {
            ThrowIfExited(agent);
            var list = await client.Instances.ListContainerInstancesAsync(new ListContainerInstancesRequest { Cluster = options.Cluster }, cancellationToken: ct);
            if (list.ContainerInstanceArns.Count > 0)
            {
                var described = await client.Instances.DescribeContainerInstancesAsync(
                    new DescribeContainerInstancesRequest { Cluster = options.Cluster, ContainerInstances = { list.ContainerInstanceArns } }, cancellationToken: ct);
                if (described.ContainerInstances.Any(i => i.AgentConnected))
                {
                    return;
                }
            }

            await Task.Delay(100, ct);
        }
    }

    private void Login(string token, string? registryPassword)
    {
        var config = CliConfig.Load(context.Environment.HomeDirectory);
        config.Endpoint = SchedulerUrl.ToString();
        config.Token = token;
        config.Registry = RegistryUrl.ToString();
        if (registryPassword is not null)
        {
            config.RegistryUsername = "admin";
            config.RegistryPassword = registryPassword;
        }

        config.Cluster = options.Cluster;
        config.Save(context.Environment.HomeDirectory);
    }

    private void PrintReady(TimeSpan elapsed, bool registryLoggedIn, int? detachedPid = null)
    {
        var registryHost = RegistryUrl.Authority;
        var passwordFile = Relative(Layout.InitialAdminPassword);
        if (context.Output.IsJson)
        {
            context.Output.Json(new JsonObject
            {
                ["registry"] = RegistryUrl.ToString(),
                ["scheduler"] = SchedulerUrl.ToString(),
                ["cluster"] = options.Cluster,
                ["dataDirectory"] = Data,
                ["readySeconds"] = Math.Round(elapsed.TotalSeconds, 2),
                ["dockerLogin"] = $"docker login {registryHost} -u admin --password-stdin < {passwordFile}",
                ["registryAdminPasswordFile"] = passwordFile,
                ["pid"] = detachedPid ?? Environment.ProcessId,
                ["detached"] = detachedPid is not null,
                ["loadBalancer"] = options.StartBalancer ? LocalLoadBalancer : null,
                ["fargate"] = _lab is { } lab
                    ? new JsonObject { ["pool"] = true, ["lab"] = lab.Id, ["rootAddress"] = lab.RootAddress, ["labDirectory"] = lab.Directory }
                    : new JsonObject { ["pool"] = false, ["reason"] = _fargateOff },
            });
            context.Output.Out.Flush();
            return;
        }

        var say = context.Output.Out;
        say.WriteLine($"Berth is up (ready in {elapsed.TotalSeconds:0.0} s). State in {Relative(Data)}/, logs in {Relative(Layout.Logs)}/.");
        say.WriteLine($"  registry   {RegistryUrl}");
        say.WriteLine($"  scheduler  {SchedulerUrl}   (API token: {Relative(Layout.AdminToken)})");
        say.WriteLine(options.StartAgent
            ? $"  agent      this host's Docker engine, cluster '{options.Cluster}', zone '{options.Zone}'"
            : "  agent      none (--no-agent): join hosts with the line below");
        if (options.StartBalancer)
        {
            say.WriteLine($"  balancer   load balancer '{LocalLoadBalancer}' on {options.ListenAddress}, status http://127.0.0.1:{BalancerAdminPort}/status (add listeners: ./berth lb listener create --lb {LocalLoadBalancer} --port 8000 --forward GROUP)");
        }

        say.WriteLine(_lab is { } pool
            ? $"  fargate    a pool of hosts made as FARGATE tasks wait (lab '{pool.Id}', network namespaces on {pool.RootAddress[..^4]}.0/24), retired once idle"
            : $"  fargate    {_fargateOff}");
        say.WriteLine();
        say.WriteLine(registryLoggedIn
            ? $"The berth CLI is logged in ({Relative(CliConfig.PathIn(context.Environment.HomeDirectory))}). Log docker in to the registry:"
            : $"The berth CLI is logged in to the scheduler; {passwordFile} is gone, so log in to the registry yourself (`berth login -u NAME --password-stdin`). Docker:");
        if (registryLoggedIn)
        {
            say.WriteLine($"  (the registry's admin password is in {passwordFile})");
        }

        say.WriteLine($"  docker login {registryHost} -u admin --password-stdin < {passwordFile}");
        say.WriteLine("Then try:");
        say.WriteLine("  ./berth instance list");
        say.WriteLine("Join another host:");
        say.WriteLine($"  sudo deploy/agent/install.sh --scheduler-url http://THIS-HOST:{options.SchedulerPort} --join-token \"$(cat {Relative(Layout.JoinToken)})\"");
        say.WriteLine(detachedPid is { } pid
            ? $"It runs in the background (berth up, pid {pid}; its output in {Relative(_run.UpLog)}). `berth status` shows it; `berth down` stops it (tasks keep running, the next `berth up` adopts them)."
            : "Ctrl-C stops the platform (or `berth down` from another terminal); running tasks keep running and the next `berth up` adopts them.");
        say.Flush();
    }

    /// <summary>Runs until cancelled (Ctrl-C, SIGTERM) or until a part exits on its own, which is a failure.</summary>
    private async Task<int> SuperviseAsync(CancellationToken cancellationToken)
    {
        var exited = await Task.WhenAny(_children.Select(c => c.Exited)).WaitAsync(Timeout.InfiniteTimeSpan, cancellationToken)
            .ContinueWith(t => t.IsCanceled ? null : _children.FirstOrDefault(c => c.HasExited), TaskScheduler.Default);
        if (exited is null)
        {
            context.Output.Say("Stopping the agent, balancer, scheduler and registry (tasks keep running)...");
            return ExitCodes.Success;
        }

        context.Output.Error.WriteLine($"error: the {exited.Name} exited with code {exited.ExitCode}; the last lines of {Relative(exited.LogPath)}:");
        foreach (var line in exited.Tail(20))
        {
            context.Output.Error.WriteLine("  " + line);
        }

        return ExitCodes.Failure;
    }

    /// <summary>The agent first (so it does not spin reconnecting), then the scheduler and the registry together.</summary>
    private async Task StopAllAsync()
    {
        foreach (var agent in _children.Where(c => c.Name == "agent"))
        {
            await agent.StopAsync(s_stopGrace);
        }

        await Task.WhenAll(_children.Where(c => c.Name != "agent").Select(c => c.StopAsync(s_stopGrace)));
        foreach (var child in _children)
        {
            child.Dispose();
        }

        _children.Clear();
    }

    private static void ThrowIfExited(ChildProcess child)
    {
        if (child.HasExited)
        {
            throw new CliException($"the {child.Name} exited with code {child.ExitCode} while starting; the last lines of {Relative(child.LogPath)}:\n  "
                + string.Join("\n  ", child.Tail(20)));
        }
    }

    private void EnsurePortFree(int port, string option) => EnsurePortFree(options.ListenAddress, port, option);

    private static void EnsurePortFree(string address, int port, string option)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Parse(address), port);
            listener.Start();
        }
        catch (SocketException)
        {
            throw new CliException($"{address}:{port} is already in use. Is another `berth up` running? Stop it, or choose another port with {option}.");
        }
    }

    private static string? ReadSecret(string path)
    {
        try
        {
            return File.Exists(path) && File.ReadAllText(path).Trim() is { Length: > 0 } text ? text : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static string Relative(string path)
    {
        var relative = Path.GetRelativePath(Directory.GetCurrentDirectory(), path);
        return relative.StartsWith("..", StringComparison.Ordinal) ? path : relative;
    }
}
