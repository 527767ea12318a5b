using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Berth.Cli.Common;
using Berth.RegistryAdmin;

namespace Berth.Cli.Registry;

/// <summary>
/// <c>berth registry repos|tags|delete|robots|grant|public</c>: what is stored (Docker v2 API) and who may use it
/// (the admin API, <c>/api/v1</c>).
/// </summary>
internal static class RegistryCommands
{
    public static Command Build(CommandActions actions)
    {
        var command = new Command("registry", "Browse and manage the image registry: repositories, tags, robot accounts, permissions");

        var repos = new Command("repos", "List repositories you may pull");
        actions.Set(repos, async (_, context, ct) =>
        {
            var names = await context.Registry.CatalogAsync(ct);
            PrintList(context.Output, "REPOSITORY", names);
            return ExitCodes.Success;
        });

        var repository = new Argument<string>("REPOSITORY") { Description = "The repository, e.g. team-a/app" };
        var tags = new Command("tags", "List a repository's tags with their digest, size and push time") { repository };
        actions.Set(tags, async (parse, context, ct) =>
        {
            var name = StripHost(parse.GetValue(repository)!, context);
            if (context.Output.IsJson)
            {
                // The JSON stays a list of tag names (scripts read it); `registry images -o json` has the details.
                PrintList(context.Output, "TAG", await context.Registry.TagsAsync(name, ct));
                return ExitCodes.Success;
            }

            List<ImageDetail> images;
            try
            {
                images = await context.Registry.Admin.DescribeImagesAsync(name, ct);
            }
            catch (RegistryApiException e) when (e.StatusCode is System.Net.HttpStatusCode.Forbidden or System.Net.HttpStatusCode.Unauthorized)
            {
                // Image details come from the admin API; whoever may only pull still gets the tag names (v2 API).
                PrintList(context.Output, "TAG", await context.Registry.TagsAsync(name, ct));
                return ExitCodes.Success;
            }

            context.Output.Table(["TAG", "DIGEST", "SIZE", "PUSHED"], RepositoryCommands.TagRows(images));
            return ExitCodes.Success;
        });

        var reference = new Argument<string>("REPOSITORY:TAG|REPOSITORY@DIGEST") { Description = "A tag to remove, or a manifest digest to delete" };
        var delete = new Command("delete", "Delete a tag or a manifest (by digest)") { reference };
        actions.Set(delete, async (parse, context, ct) =>
        {
            var (name, tagOrDigest) = SplitReference(StripHost(parse.GetValue(reference)!, context));
            await context.Registry.DeleteAsync(name, tagOrDigest, ct);
            context.Output.Say($"deleted {name}{(tagOrDigest.Contains(':', StringComparison.Ordinal) ? "@" : ":")}{tagOrDigest}");
            return ExitCodes.Success;
        });

        command.Add(repos);
        command.Add(tags);
        command.Add(delete);
        command.Add(RepositoryCommands.Repo(actions));
        command.Add(RepositoryCommands.Images(actions));
        command.Add(GcCommands.Build(actions));
        command.Add(LifecycleCommands.Build(actions));
        command.Add(ReplicationCommands.Build(actions));
        command.Add(CacheRuleCommands.Build(actions));
        command.Add(Robots(actions));
        command.Add(Grant(actions));
        command.Add(Public(actions));
        command.Add(SyncCommands.Notifications(actions));
        return command;
    }

    private static Command Robots(CommandActions actions)
    {
        var command = new Command("robots", "Robot accounts: non-human credentials for CI and hosts");

        var list = new Command("list", "List robot accounts");
        actions.Set(list, async (_, context, ct) =>
        {
            var robots = await context.Registry.Admin.ListRobotsAsync(ct);
            if (context.Output.IsJson)
            {
                context.Output.Json(JsonSerializer.SerializeToNode(robots, RegistryAdminJsonContext.Default.ListRobot));
            }
            else
            {
                context.Output.Table(["ROBOT", "DESCRIPTION", "CREATED", "EXPIRES", "LAST USED"], robots.Select(r => (IReadOnlyList<string>)
                [
                    r.Name, r.Description ?? "-", Display.Time(r.CreatedAt), r.ExpiresAt is { } expires ? Display.Time(expires) : "never", r.LastUsedAt is { } used ? Display.Time(used) : "never",
                ]));
            }

            return ExitCodes.Success;
        });

        var name = new Argument<string>("NAME") { Description = "The robot's short name (its account is robot$NAME)" };
        var description = new Option<string?>("--description") { Description = "What it is for" };
        var expires = new Option<TimeSpan?>("--expires-in") { Description = "Lifetime, e.g. 720h", CustomParser = r => Durations.Parse(r) };
        var permissions = new Option<string[]>("--permission") { Description = "PATTERN=ACTIONS, repeatable, e.g. 'team-a/*=pull,push'", HelpName = "PATTERN=ACTIONS" };
        var create = new Command("create", "Create a robot; prints its secret once") { name, description, expires, permissions };
        actions.Set(create, async (parse, context, ct) =>
        {
            var request = new CreateRobotRequest(
                parse.GetValue(name),
                parse.GetValue(description),
                parse.GetValue(expires) is { } lifetime ? DateTimeOffset.UtcNow.Add(lifetime) : null,
                [.. (parse.GetValue(permissions) ?? []).Select(ParsePermission)]);
            PrintSecret(context.Output, await context.Registry.Admin.CreateRobotAsync(request, ct));
            return ExitCodes.Success;
        });

        var rotateName = new Argument<string>("NAME") { Description = "The robot's name" };
        var rotate = new Command("rotate", "Give a robot a new secret (the old one stops working); prints it once") { rotateName };
        actions.Set(rotate, async (parse, context, ct) =>
        {
            PrintSecret(context.Output, await context.Registry.Admin.RotateRobotSecretAsync(parse.GetValue(rotateName)!, ct));
            return ExitCodes.Success;
        });

        var deleteName = new Argument<string>("NAME") { Description = "The robot's name" };
        var delete = new Command("delete", "Delete a robot account") { deleteName };
        actions.Set(delete, async (parse, context, ct) =>
        {
            await context.Registry.Admin.DeleteRobotAsync(parse.GetValue(deleteName)!, ct);
            context.Output.Say($"deleted robot {parse.GetValue(deleteName)}");
            return ExitCodes.Success;
        });

        var ensureName = new Argument<string>("NAME") { Description = "The robot's short name (its account is robot$NAME)" };
        var secretFile = new Option<string>("--secret-file") { Description = "Where its secret is kept (written owner-only); an existing one is left alone", Required = true };
        var ensurePermissions = new Option<string[]>("--permission") { Description = "PATTERN=ACTIONS for its creation, repeatable, e.g. '*=pull'", HelpName = "PATTERN=ACTIONS" };
        var ensureDescription = new Option<string?>("--description") { Description = "What it is for" };
        var ensure = new Command("ensure", "Create a robot once and keep its secret in a file (a new secret if the file is gone); for setup scripts")
        {
            ensureName, secretFile, ensurePermissions, ensureDescription,
        };
        actions.Set(ensure, async (parse, context, ct) =>
        {
            context.Output.Say(await RobotSecrets.EnsureAsync(
                context.Registry,
                parse.GetValue(ensureName)!,
                parse.GetValue(ensureDescription) ?? string.Empty,
                [.. (parse.GetValue(ensurePermissions) ?? []).Select(ParsePermission)],
                parse.GetValue(secretFile)!,
                ct));
            return ExitCodes.Success;
        });

        command.Add(list);
        command.Add(create);
        command.Add(rotate);
        command.Add(delete);
        command.Add(ensure);
        return command;
    }

    private static Command Grant(CommandActions actions)
    {
        var principal = new Argument<string>("PRINCIPAL") { Description = "A user name or robot$NAME" };
        var permission = new Argument<string>("PATTERN=ACTIONS") { Description = "e.g. 'team-a/*=pull,push'; an empty action list removes the grant ('team-a/*=')" };
        var command = new Command("grant", "Grant (or with no actions, remove) a principal's actions on a repository pattern") { principal, permission };
        actions.Set(command, async (parse, context, ct) =>
        {
            var grant = ParsePermission(parse.GetValue(permission)!);
            await context.Registry.Admin.PutPermissionAsync(new PrincipalGrant(parse.GetValue(principal), grant.Pattern, grant.Actions), ct);
            context.Output.Say($"{parse.GetValue(principal)}: {parse.GetValue(permission)}");
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Public(CommandActions actions)
    {
        var command = new Command("public", "Namespaces anyone may pull without logging in");
        var list = new Command("list", "List public namespaces");
        actions.Set(list, async (_, context, ct) =>
        {
            PrintList(context.Output, "PATTERN", await context.Registry.Admin.ListPublicNamespacesAsync(ct));
            return ExitCodes.Success;
        });

        var addPattern = new Argument<string>("PATTERN") { Description = "'*', 'namespace/*' or a repository" };
        var add = new Command("add", "Make a namespace publicly pullable") { addPattern };
        actions.Set(add, async (parse, context, ct) =>
        {
            await context.Registry.Admin.AddPublicNamespaceAsync(parse.GetValue(addPattern)!, ct);
            context.Output.Say($"{parse.GetValue(addPattern)} is public");
            return ExitCodes.Success;
        });

        var removePattern = new Argument<string>("PATTERN") { Description = "The pattern to make private again" };
        var remove = new Command("remove", "Make a namespace private again") { removePattern };
        actions.Set(remove, async (parse, context, ct) =>
        {
            await context.Registry.Admin.RemovePublicNamespaceAsync(parse.GetValue(removePattern)!, ct);
            context.Output.Say($"{parse.GetValue(removePattern)} is private");
            return ExitCodes.Success;
        });

        command.Add(list);
        command.Add(add);
        command.Add(remove);
        return command;
    }

    /// <summary><c>team-a/*=pull,push</c> into the admin API's <c>{pattern, actions}</c>.</summary>
    internal static PermissionGrant ParsePermission(string text)
    {
        var equals = text.LastIndexOf('=');
        if (equals <= 0)
        {
            throw new CliException($"'{text}' is not PATTERN=ACTIONS, e.g. 'team-a/*=pull,push'.", ExitCodes.Usage);
        }

        var names = text[(equals + 1)..].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return new PermissionGrant(text[..equals], names);
    }

    /// <summary><c>repo:tag</c> or <c>repo@digest</c> into the repository and the manifest reference.</summary>
    internal static (string Repository, string Reference) SplitReference(string text)
    {
        var at = text.IndexOf('@', StringComparison.Ordinal);
        if (at > 0)
        {
            return (text[..at], text[(at + 1)..]);
        }

        var colon = text.LastIndexOf(':');
        if (colon > text.LastIndexOf('/') && colon > 0)
        {
            return (text[..colon], text[(colon + 1)..]);
        }

        throw new CliException($"'{text}' names no tag or digest; use REPOSITORY:TAG or REPOSITORY@sha256:...", ExitCodes.Usage);
    }

    /// <summary>Accepts an image name as docker spells it (<c>127.0.0.1:5000/team-a/app:1</c>) by dropping this registry's host.</summary>
    private static string StripHost(string name, CliContext context)
    {
        var prefix = context.Settings.Registry.Authority + "/";
        return name.StartsWith(prefix, StringComparison.Ordinal) ? name[prefix.Length..] : name;
    }

    private static void PrintList(CliOutput output, string header, IReadOnlyCollection<string> values)
    {
        if (output.IsJson)
        {
            output.Json(new JsonArray([.. values.Select(v => (JsonNode)v)]));
        }
        else
        {
            output.Table([header], values.Select(v => (IReadOnlyList<string>)[v]));
        }
    }

    private static void PrintSecret(CliOutput output, RobotSecret robot)
    {
        if (output.IsJson)
        {
            output.Json(JsonSerializer.SerializeToNode(robot, RegistryAdminJsonContext.Default.RobotSecret));
            return;
        }

        output.Fields([("Robot", robot.Name), ("Secret", robot.Secret), ("Expires", robot.ExpiresAt is { } expires ? Display.Time(expires) : "never")]);
        // Single quotes keep the shell from expanding the `$` in robot$NAME.
        output.Out.WriteLine($"The secret is shown only now: store it (e.g. docker login -u '{robot.Name}' --password-stdin).");
    }
}
