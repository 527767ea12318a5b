using Berth.Core.Hosting;
using Berth.Core.IO;

namespace Berth.Cli.Up;

/// <summary>
/// Every path <c>berth up</c> uses under its <c>--data-dir</c>, named once: one data directory per service (each
/// service owns the layout inside its own), the local agent's configuration, and the logs. <see cref="Open"/> makes
/// the directory and the ones under it 0700 and its own files (logs, the agent's configuration) 0600.
/// </summary>
/// <remarks>
/// <code>
/// &lt;data-dir&gt;/                          0700
///   registry/                         the registry's --data-dir (initial-admin-password, ...)
///   scheduler/                        the scheduler's --data-dir (admin-token, join-token, registry-pull-secret, ...)
///   agent/agent.json                  the local agent's (empty) configuration file
///   agent/state/                      the local agent's --data-dir (its instance identity)
///   balancer/                         the local load balancer's --data-dir (config.pb, replica-id)
///   balancer/token                    its balancer credential (watch and report only), 0600
///   fargate/lab.json                  the FARGATE pool's lab: its id and 10.231.x.0/24 (chosen once, kept: FargateLab)
///   fargate/lab/                      that lab's LAB_DIR (lab/host.sh): one hN/ per pool host (engine, agent, logs)
///   logs/registry.log, scheduler.log, agent.log, balancer.log, up.log (a detached berth up's own output)
///   run/up.pid, registry.pid, scheduler.pid, agent.pid, balancer.pid, platform.json   a running berth up (RunFiles)
/// </code>
/// </remarks>
internal sealed class PlatformDataDirectory
{
    private PlatformDataDirectory(string root)
    {
        Root = root;
    }

    public string Root { get; }

    public string Registry => Path.Combine(Root, "registry");

    public string Scheduler => Path.Combine(Root, "scheduler");

    public string Agent => Path.Combine(Root, "agent");

    public string AgentConfig => Path.Combine(Agent, "agent.json");

    public string AgentData => Path.Combine(Agent, "state");

    public string Logs => Path.Combine(Root, "logs");

    public string Balancer => Path.Combine(Root, "balancer");

    public string BalancerToken => Path.Combine(Balancer, "token");

    public string Fargate => Path.Combine(Root, "fargate");

    public string FargateLabIdentity => Path.Combine(Fargate, "lab.json");

    public string InitialAdminPassword => Path.Combine(Registry, WellKnownFiles.InitialAdminPassword);

    public string AdminToken => Path.Combine(Scheduler, WellKnownFiles.AdminToken);

    public string JoinToken => Path.Combine(Scheduler, WellKnownFiles.JoinToken);

    public string RegistryPullSecret => Path.Combine(Scheduler, WellKnownFiles.RegistryPullSecret);

    /// <summary>The log file of the child process <paramref name="name"/>.</summary>
    public string Log(string name) => Path.Combine(Logs, name + ".log");

    /// <summary>The layout of <paramref name="dataDirectory"/>, its directories made (or made) private.</summary>
    public static PlatformDataDirectory Open(string dataDirectory)
    {
        var layout = new PlatformDataDirectory(PrivateDirectory.Ensure(dataDirectory));
        PrivateDirectory.Ensure(layout.Registry);
        PrivateDirectory.Ensure(layout.Scheduler);
        PrivateDirectory.Ensure(layout.Agent);
        PrivateDirectory.Ensure(layout.Logs);
        PrivateDirectory.Ensure(layout.Balancer);
        PrivateDirectory.Ensure(layout.Fargate);
        PrivateDirectory.Tighten(layout.AgentConfig);
        foreach (var log in Directory.EnumerateFiles(layout.Logs, "*.log"))
        {
            PrivateDirectory.Tighten(log);
        }

        return layout;
    }
}
