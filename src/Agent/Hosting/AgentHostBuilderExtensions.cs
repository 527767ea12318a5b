using Berth.ServiceDefaults;
using Berth.Agent.Configuration;
using Berth.Agent.Exec;
using Berth.Agent.Logs;
using Berth.Agent.Dns;
using Berth.Agent.Isolation;
using Berth.Agent.Networking;
using Berth.Agent.Runtime;
using Berth.Agent.Sessions;
using Berth.Agent.Stats;
using Berth.Agent.Tasks;
using Berth.Core.Networking;
using Microsoft.Extensions.Options;

namespace Berth.Agent.Hosting;

/// <summary>The agent's composition: configuration sources and services.</summary>
internal static class AgentHostBuilderExtensions
{
    public const string DefaultConfigPath = "/etc/berth/agent.json";

    /// <summary>Command-line spellings (kebab-case, like the rest of Berth's tools) for the options' keys.</summary>
    private static readonly Dictionary<string, string> s_switches = new(StringComparer.Ordinal)
    {
        ["--config"] = "Config",
        ["--scheduler-url"] = nameof(AgentOptions.SchedulerUrl),
        ["--join-token"] = nameof(AgentOptions.JoinToken),
        ["--cluster"] = nameof(AgentOptions.Cluster),
        ["--zone"] = nameof(AgentOptions.Zone),
        ["--advertise-address"] = nameof(AgentOptions.AdvertiseAddress),
        ["--instance-type"] = nameof(AgentOptions.InstanceType),
        ["--reserved-cpu"] = nameof(AgentOptions.ReservedCpu),
        ["--reserved-memory"] = nameof(AgentOptions.ReservedMemory),
        ["--dynamic-port-first"] = nameof(AgentOptions.DynamicPortFirst),
        ["--dynamic-port-last"] = nameof(AgentOptions.DynamicPortLast),
        ["--docker-endpoint"] = nameof(AgentOptions.DockerEndpoint),
        ["--data-dir"] = nameof(AgentOptions.DataDirectory),
        ["--scope"] = nameof(AgentOptions.Scope),
        ["--image-pull-behavior"] = nameof(AgentOptions.ImagePullBehavior),
        ["--health-url"] = $"{HealthListenerOptions.Section}:{nameof(HealthListenerOptions.Url)}",
        ["--task-subnet"] = "Awsvpc:TaskSubnet",
        ["--cluster-cidr"] = "Awsvpc:ClusterCidr",
    };

    /// <summary>
    /// <c>/etc/berth/agent.json</c> (or <c>--config</c> / <c>BERTH_CONFIG</c>), then <c>BERTH_*</c> environment
    /// variables (<c>BERTH_SCHEDULERURL</c>, <c>BERTH_ATTRIBUTES__team=web</c>), then the command line.
    /// </summary>
    public static IHostApplicationBuilder AddAgentConfiguration(this IHostApplicationBuilder builder, string[] args)
    {
        var early = new ConfigurationBuilder().AddEnvironmentVariables("BERTH_").AddCommandLine(args, s_switches).Build();
        var path = early["Config"] ?? DefaultConfigPath;
        builder.Configuration
            .AddJsonFile(path, optional: path == DefaultConfigPath, reloadOnChange: false)
            .AddEnvironmentVariables("BERTH_")
            .AddCommandLine(args, s_switches);
        return builder;
    }

    public static IHostApplicationBuilder AddAgentServices(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<AgentOptions>()
            .Bind(builder.Configuration)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<AgentOptions>, AgentOptionsValidator>();
        services.AddSingleton<IContainerRuntime>(sp => new DockerContainerRuntime(sp.GetRequiredService<IOptions<AgentOptions>>().Value.DockerEndpoint));
        // The layout is opened (directory made, modes tightened) before the session or the image store touch it.
        services.AddSingleton(sp => AgentDataDirectory.Open(sp.GetRequiredService<IOptions<AgentOptions>>().Value.DataDirectory));
        services.AddSingleton<ImageStore>();
        services.AddSingleton<LogArchive>();
        services.AddSingleton<StoppedTaskRetention>();
        services.AddSingleton<IHostCommands, ProcessHostCommands>();
        services.AddSingleton<CniBridge>();
        services.AddSingleton<HostNetwork>();
        services.AddSingleton<Firewall>();
        services.AddSingleton<TaskNetworking>();
        services.AddSingleton<SandboxImage>();
        services.AddSingleton<TaskCgroups>();
        services.AddSingleton<TaskEngine>();
        services.AddSingleton<TaskLogReader>();
        services.AddSingleton<ExecSessions>();
        services.AddSingleton<HostFactsProvider>();
        services.AddSingleton<IDiskUsageProbe, DriveDiskUsageProbe>();
        services.AddHostedService<NetworkSyncLoop>();
        services.AddHostedService<ServiceDiscoveryServer>();
        services.AddHostedService<EngineWatcher>();
        services.AddHostedService<ReconcileLoop>();
        services.AddSingleton<TaskStatsSampler>();
        services.AddSingleton<SessionClient>();
        services.AddHostedService(sp => sp.GetRequiredService<SessionClient>());
        services.AddHostedService<ImageCleanupService>();
        services.AddHostedService<StoppedTaskCleanupService>();
        // Ready when the Docker engine answers (/readyz, served when --health-url is set).
        services.AddHealthChecks().AddCheck<EngineHealthCheck>(EngineHealthCheck.Name, tags: [BerthHealth.Ready], timeout: BerthHealth.CheckTimeout);
        services.AddSystemd();
        return builder;
    }
}
