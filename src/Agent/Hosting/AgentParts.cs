using Berth.Agent.Configuration;
using Berth.Agent.Isolation;
using Berth.Agent.Networking;
using Berth.Agent.Runtime;
using Berth.Agent.Tasks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Berth.Agent.Hosting;

/// <summary>
/// The task engine with the parts it needs, wired by hand as <see cref="AgentHostBuilderExtensions.AddAgentServices"/>
/// wires them: for tests and benches that drive the agent's task side in-process, without a host.
/// </summary>
internal static class AgentParts
{
    public static TaskEngine CreateTaskEngine(IContainerRuntime runtime, ImageStore images, IOptions<AgentOptions> options, TimeProvider time, ILoggerFactory logs)
    {
        var commands = new ProcessHostCommands();
        var layout = AgentDataDirectory.Open(options.Value.DataDirectory);
        var networking = new TaskNetworking(
            new CniBridge(commands, options, layout),
            new HostNetwork(commands, options, logs.CreateLogger<HostNetwork>()),
            new Firewall(commands, options, logs.CreateLogger<Firewall>()),
            options,
            layout,
            logs.CreateLogger<TaskNetworking>());
        return new TaskEngine(
            runtime,
            images,
            networking,
            new TaskCgroups(options, logs.CreateLogger<TaskCgroups>()),
            new SandboxImage(runtime, options, logs.CreateLogger<SandboxImage>()),
            options,
            time,
            logs.CreateLogger<TaskEngine>());
    }
}
