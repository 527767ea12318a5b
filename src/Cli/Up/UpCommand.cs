using System.CommandLine;
using System.Globalization;
using Berth.Cli.Common;

namespace Berth.Cli.Up;

/// <summary><c>berth up</c>: a whole local platform in one command.</summary>
internal static class UpCommand
{
    public static Command Build(CommandActions actions)
    {
        var dataDir = new Option<string>("--data-dir") { Description = "Where all state lives (SQLite, blobs, tokens, logs)", DefaultValueFactory = _ => "./data" };
        var listen = new Option<string>("--listen") { Description = "The address the registry and scheduler listen on", DefaultValueFactory = _ => "127.0.0.1" };
        var registryPort = new Option<int>("--registry-port") { Description = "The registry's port", DefaultValueFactory = _ => 5000 };
        var schedulerPort = new Option<int>("--scheduler-port") { Description = "The scheduler's port", DefaultValueFactory = _ => 7070 };
        var noAgent = new Option<bool>("--no-agent") { Description = "Start no local agent (join other hosts to the scheduler instead)" };
        var zone = new Option<string>("--zone") { Description = "The local agent's zone (berth.zone)", DefaultValueFactory = _ => "local" };
        var scope = new Option<string>("--agent-scope") { Description = "The local agent's container label scope (keep it stable: the next `berth up` adopts by it)", DefaultValueFactory = _ => "local" };
        var noBalancer = new Option<bool>("--no-balancer") { Description = "Start no load balancer process (the load balancer 'local' is not made)" };
        var balancerAdminPort = new Option<int>("--balancer-admin-port") { Description = "The local balancer's admin port on 127.0.0.1 (/healthz, /status); a free one when 0", DefaultValueFactory = _ => 0 };
        var detach = new Option<bool>("--detach", "-d") { Description = "Run in the background once ready (`berth status` shows it, `berth down` stops it)" };
        var noFargate = new Option<bool>("--no-fargate") { Description = "Run no FARGATE pool (as root, berth up otherwise runs FARGATE tasks on hosts it makes: network namespaces with their own dockerd)" };
        var fargateIdle = new Option<TimeSpan?>("--fargate-idle-timeout") { Description = "How long an empty FARGATE pool host is kept before it is retired [default: 5m]", CustomParser = r => Durations.Parse(r) };
        var command = new Command("up", "Start a registry, a scheduler, a local agent and a load balancer (state under --data-dir) until Ctrl-C or `berth down`")
        {
            dataDir, listen, registryPort, schedulerPort, noAgent, zone, scope, noBalancer, balancerAdminPort, detach, noFargate, fargateIdle,
        };
        actions.Set(command, async (parse, context, ct) =>
        {
            var options = new UpOptions(
                Path.GetFullPath(parse.GetValue(dataDir)!),
                parse.GetValue(listen)!,
                parse.GetValue(registryPort),
                parse.GetValue(schedulerPort),
                !parse.GetValue(noAgent),
                parse.GetValue(zone)!,
                context.Cluster,
                parse.GetValue(scope)!,
                !parse.GetValue(noBalancer),
                parse.GetValue(balancerAdminPort),
                !parse.GetValue(noFargate),
                parse.GetValue(fargateIdle));
            var binaries = PlatformBinaries.Locate(context.Environment.Variable);
            var platform = new LocalPlatform(context, options, binaries);
            if (!parse.GetValue(detach))
            {
                return await platform.RunAsync(ct);
            }

            string[] again =
            [
                "up", "--data-dir", options.DataDirectory, "--listen", options.ListenAddress,
                "--registry-port", options.RegistryPort.ToString(CultureInfo.InvariantCulture),
                "--scheduler-port", options.SchedulerPort.ToString(CultureInfo.InvariantCulture),
                "--zone", options.Zone, "--agent-scope", options.AgentScope, "--cluster", options.Cluster,
                "--balancer-admin-port", options.BalancerAdminPort.ToString(CultureInfo.InvariantCulture),
                .. options.StartAgent ? Array.Empty<string>() : ["--no-agent"],
                .. options.StartBalancer ? Array.Empty<string>() : ["--no-balancer"],
                .. options.Fargate ? Array.Empty<string>() : ["--no-fargate"],
                .. options.FargateIdleTimeout is { } idle ? ["--fargate-idle-timeout", Durations.Format(idle)] : Array.Empty<string>(),
            ];
            return await platform.RunDetachedAsync(again, ct);
        });
        return command;
    }

    /// <summary><c>berth down</c>: stops the platform a <c>berth up</c> runs from the data directory (in the background or in another terminal).</summary>
    public static Command Down(CommandActions actions)
    {
        var dataDir = DataDirOption();
        var command = new Command("down", "Stop the platform `berth up` runs from --data-dir (tasks keep running; the next `berth up` adopts them)") { dataDir };
        actions.Set(command, async (parse, context, ct) =>
        {
            var data = Path.GetFullPath(parse.GetValue(dataDir)!);
            var run = new RunFiles(data);
            if (run.LivePid("up") is not { } pid)
            {
                // Parts whose berth up was killed stop by themselves (they watch it); a stale file says nothing more.
                context.Output.Say($"No platform is running from {parse.GetValue(dataDir)}.");
                return ExitCodes.Success;
            }

            var lab = run.Platform() is { } platform ? FargateLab.Of(platform, data) : null;
            context.Output.Error.WriteLine($"Stopping berth up (pid {pid}): the agent, then the scheduler and registry...");
            Common.Posix.Signal(pid, Common.Posix.SigTerm);
            // berth up gives each part 20 s to stop before SIGKILL; allow for all three and then some.
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
            // berth up clears its run files a moment before its process ends; wait for the process too, so that
            // nothing of the platform runs once `down` returns.
            while (run.LivePid("up") is not null || RunFiles.IsBerthProcess(pid))
            {
                if (DateTime.UtcNow > deadline)
                {
                    throw new CliException($"berth up (pid {pid}) did not stop within 90 s; see {run.UpLog} and the logs beside it.");
                }

                await Task.Delay(200, ct);
            }

            context.Output.Say($"Stopped the platform running from {parse.GetValue(dataDir)}. Tasks keep running; the next `berth up` adopts them.");
            if (lab?.HostNames() is { Count: > 0 } hosts)
            {
                context.Output.Say(LocalPlatform.FargateHostsLeft(lab, hosts));
            }
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary><c>berth status</c>: whether a platform runs from the data directory, its parts and whether each answers.</summary>
    public static Command Status(CommandActions actions)
    {
        var dataDir = DataDirOption();
        var command = new Command("status", "Show whether the platform of --data-dir runs, and its parts (exit 1 when it does not)") { dataDir };
        actions.Set(command, async (parse, context, ct) => await PlatformStatus.PrintAsync(context, new RunFiles(Path.GetFullPath(parse.GetValue(dataDir)!)), parse.GetValue(dataDir)!, ct));
        return command;
    }

    private static Option<string> DataDirOption() =>
        new("--data-dir") { Description = "The data directory the platform runs from", DefaultValueFactory = _ => "./data" };
}
