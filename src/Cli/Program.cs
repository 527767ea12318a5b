using Berth.Cli;
using Berth.Cli.Common;

// The `berth` CLI. Ctrl-C and SIGTERM cancel the running command (System.CommandLine turns both into the action's token).
return await BerthCli.RunAsync(args, CliEnvironment.FromProcess(), Console.Out, Console.Error);
