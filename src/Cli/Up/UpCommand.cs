using System.CommandLine;
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
        var command = new Command("up", "Start a registry, a scheduler, a local agent and a load balancer (state under --data-dir) until Ctrl-C")
        {
            dataDir, listen, registryPort, schedulerPort, noAgent, zone, scope, noBalancer, balancerAdminPort,
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
                parse.GetValue(balancerAdminPort));
            var binaries = PlatformBinaries.Locate(context.Environment.Variable);
            return await new LocalPlatform(context, options, binaries).RunAsync(ct);
        });
        return command;
    }
}
