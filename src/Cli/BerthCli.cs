using System.CommandLine;
using Berth.Cli.Clusters;
using Berth.Cli.Common;
using Berth.Cli.CapacityProviders;
using Berth.Cli.HostGroups;
using Berth.Cli.Instances;
using Berth.Cli.LoadBalancers;
using Berth.Cli.Logs;
using Berth.Cli.Registry;
using Berth.Cli.SecurityGroups;
using Berth.Cli.Services;
using Berth.Cli.Login;
using Berth.Cli.TaskDefinitions;
using Berth.Cli.Tasks;
using Berth.Cli.Up;

namespace Berth.Cli;

/// <summary>The <c>berth</c> command tree. Each noun lives in its own feature folder.</summary>
internal static class BerthCli
{
    public static RootCommand Build(CliEnvironment environment)
    {
        var options = new GlobalOptions();
        var actions = new CommandActions(environment, options);
        var root = new RootCommand("berth: the Berth container platform's command-line tool (clusters, task definitions, tasks, services, instances, host groups, load balancers, target groups, security groups, logs, registry, and `berth up` for a local platform)");
        options.AddTo(root);
        root.Add(UpCommand.Build(actions));
        root.Add(UpCommand.Down(actions));
        root.Add(UpCommand.Status(actions));
        root.Add(LoginCommand.Build(actions));
        root.Add(ClusterCommands.Build(actions));
        root.Add(TaskDefinitionCommands.Build(actions));
        root.Add(TaskCommands.Build(actions));
        root.Add(ServiceCommands.Build(actions));
        root.Add(InstanceCommands.Build(actions));
        root.Add(HostGroupCommands.Build(actions));
        root.Add(CapacityProviderCommands.Build(actions));
        root.Add(LoadBalancerCommands.Build(actions));
        root.Add(TargetGroupCommands.Build(actions));
        root.Add(CertificateCommands.Build(actions));
        root.Add(SecurityGroupCommands.Build(actions));
        root.Add(LogsCommand.Build(actions));
        root.Add(RegistryCommands.Build(actions));
        return root;
    }

    /// <summary>Parses and runs <paramref name="args"/>; usage errors exit with <see cref="ExitCodes.Usage"/>.</summary>
    public static async Task<int> RunAsync(string[] args, CliEnvironment environment, TextWriter output, TextWriter error, CancellationToken cancellationToken = default)
    {
        var parse = Build(environment).Parse(args);
        var configuration = new InvocationConfiguration
        {
            Output = output,
            Error = error,
            // Ctrl-C/SIGTERM cancel the action's token; `berth up` needs more than the default 2 s to stop its parts.
            ProcessTerminationTimeout = TimeSpan.FromSeconds(90),
        };
        if (parse.Errors.Count > 0)
        {
            foreach (var problem in parse.Errors)
            {
                await error.WriteLineAsync("error: " + problem.Message);
            }

            await error.WriteLineAsync("Run with --help for usage.");
            return ExitCodes.Usage;
        }

        return await parse.InvokeAsync(configuration, cancellationToken);
    }
}
