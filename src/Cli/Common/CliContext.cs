using Berth.Cli.Configuration;
using Berth.Cli.Registry;
using System.CommandLine;

namespace Berth.Cli.Common;

/// <summary>One command's view of the world: the output, the resolved settings, and clients made on first use.</summary>
internal sealed class CliContext : IDisposable
{
    private SchedulerClient? _scheduler;
    private RegistryClient? _registry;

    public CliContext(CliEnvironment environment, CliOutput output, CliSettings settings)
    {
        Environment = environment;
        Output = output;
        Settings = settings;
    }

    public CliEnvironment Environment { get; }

    public CliOutput Output { get; }

    public CliSettings Settings { get; }

    /// <summary>The cluster named by --cluster, BERTH_CLUSTER or the config file.</summary>
    public string Cluster => Settings.Cluster;

    public SchedulerClient Scheduler => _scheduler ??= new SchedulerClient(Settings.Endpoint, Settings.Token);

    public RegistryClient Registry => _registry ??= new RegistryClient(Settings.Registry, Settings.RegistryUsername, Settings.RegistryPassword);

    public static CliContext Create(ParseResult parse, CliEnvironment environment, GlobalOptions options)
    {
        var invocation = parse.InvocationConfiguration;
        var output = new CliOutput(invocation.Output, invocation.Error, parse.GetValue(options.Output));
        var config = CliConfig.Load(environment.HomeDirectory);
        var settings = CliSettings.Resolve(environment, config, parse.GetValue(options.Endpoint), parse.GetValue(options.Registry), parse.GetValue(options.Cluster));
        return new CliContext(environment, output, settings);
    }

    public void Dispose()
    {
        _scheduler?.Dispose();
        _registry?.Dispose();
    }
}
