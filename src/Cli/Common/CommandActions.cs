using System.CommandLine;
using Grpc.Core;

namespace Berth.Cli.Common;

/// <summary>
/// Wires a command's body with the one error policy of the CLI: a failure becomes one readable sentence on
/// stderr and a non-zero exit code, never a stack trace.
/// </summary>
internal sealed class CommandActions(CliEnvironment environment, GlobalOptions options)
{
    public GlobalOptions Options { get; } = options;

    public void Set(Command command, Func<ParseResult, CliContext, CancellationToken, Task<int>> body) =>
        command.SetAction(async (parse, cancellationToken) =>
        {
            CliContext context;
            try
            {
                context = CliContext.Create(parse, environment, Options);
            }
            catch (CliException e)
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync("error: " + e.Message);
                return e.ExitCode;
            }

            using (context)
            {
                try
                {
                    return await body(parse, context, cancellationToken);
                }
                catch (CliException e)
                {
                    context.Output.Error.WriteLine("error: " + e.Message);
                    return e.ExitCode;
                }
                catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled && cancellationToken.IsCancellationRequested)
                {
                    return ExitCodes.Interrupted;
                }
                catch (RpcException e)
                {
                    context.Output.Error.WriteLine("error: " + ErrorMessages.ForScheduler(e, context.Settings.Endpoint, ErrorMessages.ListCommandFor(CommandPath(parse))));
                    return ExitCodes.Failure;
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    return ExitCodes.Interrupted;
                }
                catch (RegistryAdmin.RegistryApiException e)
                {
                    context.Output.Error.WriteLine("error: " + ErrorMessages.ForRegistry((int)e.StatusCode, e.Message, context.Settings.Registry, ErrorMessages.RegistryAdminListHint(CommandPath(parse))));
                    return ExitCodes.Failure;
                }
                catch (HttpRequestException e)
                {
                    context.Output.Error.WriteLine("error: " + ErrorMessages.RegistryUnreachable(context.Settings.Registry, e.Message));
                    return ExitCodes.Failure;
                }
                catch (IOException e)
                {
                    context.Output.Error.WriteLine("error: " + e.Message);
                    return ExitCodes.Failure;
                }
            }
        });

    /// <summary>The command's names from the root down, without the root (<c>service</c>, <c>describe</c>).</summary>
    private static List<string> CommandPath(ParseResult parse)
    {
        var names = new List<string>();
        for (var result = parse.CommandResult; result.Parent is System.CommandLine.Parsing.CommandResult parent; result = parent)
        {
            names.Add(result.Command.Name);
        }

        names.Reverse();
        return names;
    }
}
