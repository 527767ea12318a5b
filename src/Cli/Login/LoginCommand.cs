using System.CommandLine;
using Berth.Cli.Common;
using Berth.Cli.Configuration;
using Berth.Cli.Registry;
using Berth.Scheduler.V1;

namespace Berth.Cli.Login;

/// <summary>
/// <c>berth login</c>: checks control-plane and/or registry credentials against the live services and remembers
/// them (with the endpoints) in <c>~/.berth/config.json</c>, owner-only.
/// </summary>
internal static class LoginCommand
{
    public static Command Build(CommandActions actions)
    {
        var token = new Option<string?>("--token") { Description = "The scheduler API token" };
        var tokenFile = new Option<string?>("--token-file") { Description = "A file holding the scheduler API token (<scheduler data dir>/admin-token)" };
        var username = new Option<string?>("--username", "-u") { Description = "Registry user or robot name" };
        var passwordStdin = new Option<bool>("--password-stdin") { Description = "Read the registry password from stdin" };
        var passwordFile = new Option<string?>("--password-file") { Description = "A file holding the registry password" };
        var command = new Command("login", "Log in to the scheduler (API token) and/or the registry (user and password)")
        {
            token, tokenFile, username, passwordStdin, passwordFile,
        };
        actions.Set(command, async (parse, context, ct) =>
        {
            var apiToken = parse.GetValue(token) ?? ReadFile(parse.GetValue(tokenFile), "token file");
            if (apiToken is { Length: 0 })
            {
                throw new CliException("the token is empty: pass the scheduler's API token (its <data dir>/admin-token).", ExitCodes.Usage);
            }

            var user = parse.GetValue(username);
            if (apiToken is null && user is null)
            {
                throw new CliException("say what to log in to: --token or --token-file for the scheduler, --username with --password-stdin or --password-file for the registry.", ExitCodes.Usage);
            }

            var config = CliConfig.Load(context.Environment.HomeDirectory);
            if (apiToken is not null)
            {
                using var scheduler = new SchedulerClient(context.Settings.Endpoint, apiToken);
                await scheduler.Clusters.ListClustersAsync(new ListClustersRequest { MaxResults = 1 }, cancellationToken: ct);
                config.Endpoint = context.Settings.Endpoint.ToString();
                config.Token = apiToken;
                context.Output.Say($"Logged in to the scheduler at {context.Settings.Endpoint}");
            }

            if (user is not null)
            {
                var password = parse.GetValue(passwordStdin) ? (await Console.In.ReadToEndAsync(ct)).Trim() : ReadFile(parse.GetValue(passwordFile), "password file")
                    ?? throw new CliException("--username needs --password-stdin or --password-file.", ExitCodes.Usage);
                if (password.Length == 0)
                {
                    throw new CliException("the password on standard input is empty.", ExitCodes.Usage);
                }

                using var registry = new RegistryClient(context.Settings.Registry, user, password);
                await registry.VerifyLoginAsync(ct);
                config.Registry = context.Settings.Registry.ToString();
                config.RegistryUsername = user;
                config.RegistryPassword = password;
                context.Output.Say($"Logged in to the registry at {context.Settings.Registry} as {user}");
            }

            if (parse.GetValue(actions.Options.Cluster) is { Length: > 0 } cluster)
            {
                config.Cluster = cluster;
            }

            config.Save(context.Environment.HomeDirectory);
            return ExitCodes.Success;
        });
        return command;
    }

    private static string? ReadFile(string? path, string what)
    {
        if (path is null)
        {
            return null;
        }

        try
        {
            var text = File.ReadAllText(path).Trim();
            // An empty file is a mistake worth naming (a token file read before the scheduler wrote it, a pipe that
            // carried nothing), not an empty credential for the server to reject as "missing".
            return text.Length > 0 ? text : throw new CliException($"the {what} is empty: {path}", ExitCodes.Usage);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"cannot read {path}: {e.Message}");
        }
    }
}
