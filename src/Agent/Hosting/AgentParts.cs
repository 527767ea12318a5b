using Berth.Agent.Configuration;
using Berth.Agent.Isolation;
using Berth.Agent.Logs;
using Berth.Agent.Networking;
using Berth.Agent.Runtime;
using Berth.Agent.Tasks;
using Berth.Core.Networking;
using Microsoft.Extensions.Options;

namespace Berth.Agent.Hosting;

/// <summary>
/// The task engine with the parts it needs, wired by hand as <see cref="AgentHostBuilderExtensions.AddAgentServices"/>
/// wires them: for tests and benches that drive the agent's task side in-process, without a host.
/// </summary>
internal static class AgentParts
{
    /// <summary>Stopped-task cleanup over the data directory's saved lines; <paramref name="time"/> runs its wait.</summary>
    public static StoppedTaskRetention CreateRetention(IContainerRuntime runtime, LogArchive archive, IOptions<AgentOptions> options, TimeProvider time, ILoggerFactory logs) =>
        new(runtime, archive, AgentDataDirectory.Open(options.Value.DataDirectory), options, time, logs.CreateLogger<StoppedTaskRetention>());

    /// <summary>The saved lines of stopped tasks in the data directory; <paramref name="time"/> stamps and expires them.</summary>
    public static LogArchive CreateArchive(IOptions<AgentOptions> options, TimeProvider time) =>
        new(options, AgentDataDirectory.Open(options.Value.DataDirectory), time);

    public static TaskEngine CreateTaskEngine(IContainerRuntime runtime, ImageStore images, StoppedTaskRetention retention, IOptions<AgentOptions> options, TimeProvider time, ILoggerFactory logs)
    {
        var commands = new ProcessHostCommands();
        var layout = AgentDataDirectory.Open(options.Value.DataDirectory);
#pragma warning disable CA2000 // owned by the TaskEngine it is passed to, which lives as long as the agent.
        var networking = new TaskNetworking(
            new CniBridge(commands, options, layout),
            new HostNetwork(commands, options, logs.CreateLogger<HostNetwork>()),
            new Firewall(commands, options, logs.CreateLogger<Firewall>()),
            options,
            layout,
            logs.CreateLogger<TaskNetworking>());
#pragma warning restore CA2000
        return new TaskEngine(
            runtime,
            images,
            retention,
            networking,
            new TaskCgroups(options, logs.CreateLogger<TaskCgroups>()),
#pragma warning disable CA2000 // owned by the TaskEngine it is passed to, which lives as long as the agent.
            new SandboxImage(runtime, options, logs.CreateLogger<SandboxImage>()),
#pragma warning restore CA2000
            options,
            time,
            logs.CreateLogger<TaskEngine>());
    }
}
