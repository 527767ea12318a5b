using System.Reflection;
using System.Runtime.InteropServices;
using Berth.Agent.Configuration;
using Berth.Agent.Runtime;
using Berth.Scheduler.V1;
using Microsoft.Extensions.Options;

namespace Berth.Agent.Sessions;

/// <summary>What the host offers: the engine's CPUs and memory minus the configured reservations, plus attributes.</summary>
internal sealed class HostFactsProvider(IContainerRuntime runtime, IOptions<AgentOptions> options)
{
    public static string AgentVersion { get; } =
        typeof(HostFactsProvider).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    public async Task<HostFacts> GetAsync(CancellationToken cancellationToken)
    {
        var info = await runtime.GetInfoAsync(cancellationToken);
        return Compute(info, options.Value);
    }

    internal static HostFacts Compute(EngineInfo info, AgentOptions o)
    {
        var facts = new HostFacts
        {
            Hostname = Environment.MachineName,
            Cpu = (int)Math.Max(0, (info.CpuCount * 1024L) - o.ReservedCpu),
            Memory = (int)Math.Max(0, (info.MemoryBytes / (1024 * 1024)) - o.ReservedMemory),
            AgentVersion = AgentVersion,
            OsType = "linux",
            CpuArchitecture = RuntimeInformation.OSArchitecture switch
            {
                Architecture.X64 => "x86_64",
                Architecture.Arm64 => "arm64",
                var other => other.ToString().ToLowerInvariant(),
            },
            Zone = o.Zone ?? string.Empty,
            InstanceType = o.InstanceType ?? string.Empty,
            DynamicPortFirst = o.DynamicPortFirst,
            DynamicPortLast = o.DynamicPortLast,
            RuntimeVersion = info.ServerVersion,
            AdvertiseAddress = o.AdvertiseAddress ?? string.Empty,
        };
        facts.Attributes.AddRange(o.Attributes.OrderBy(a => a.Key, StringComparer.Ordinal).Select(a => new InstanceAttribute { Name = a.Key, Value = a.Value }));
        facts.ReservedPorts.AddRange(o.ReservedPorts);
        return facts;
    }
}
