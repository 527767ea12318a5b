using System.CommandLine;
using System.Text.Json;
using Berth.Cli.Common;
using Berth.RegistryAdmin;

namespace Berth.Cli.Registry;

/// <summary>
/// <c>berth registry cache-rule create PREFIX UPSTREAM [--username U --password-stdin|--password-file F], list [PREFIX...],
/// delete PREFIX</c>: ECR's pull-through cache rules (CreatePullThroughCacheRule, DescribePullThroughCacheRules,
/// DeletePullThroughCacheRule). A pull of <c>PREFIX/REPO:TAG</c> then fetches <c>REPO:TAG</c> from the upstream once.
/// </summary>
internal static class CacheRuleCommands
{
    public static Command Build(CommandActions actions)
    {
        var command = new Command("cache-rule", "Pull-through cache rules: a repository prefix that caches another registry (ECR's)");

        var prefix = new Argument<string>("PREFIX") { Description = "The local repository prefix (ECR's ecrRepositoryPrefix), e.g. docker-hub" };
        var upstream = new Argument<string>("UPSTREAM") { Description = "The upstream registry's URL (https://host[:port], http://... or a bare host, which means https)" };
        var username = new Option<string?>("--username", "-u") { Description = "A user or robot of the upstream (anonymous pulls without it)" };
        var passwordStdin = new Option<bool>("--password-stdin") { Description = "Read the upstream password from stdin" };
        var passwordFile = new Option<string?>("--password-file") { Description = "A file holding the upstream password" };
        var create = new Command("create", "Create a rule (ECR's CreatePullThroughCacheRule)") { prefix, upstream, username, passwordStdin, passwordFile };
        actions.Set(create, async (parse, context, ct) =>
        {
            var user = parse.GetValue(username);
            string? password = null;
            if (parse.GetValue(passwordStdin))
            {
                password = (await Console.In.ReadToEndAsync(ct)).Trim();
            }
            else if (parse.GetValue(passwordFile) is { } file)
            {
                password = (await File.ReadAllTextAsync(file, ct)).Trim();
            }

            if ((user is null) != (password is null))
            {
                throw new CliException("--username needs --password-stdin or --password-file, and a password needs --username.", ExitCodes.Usage);
            }

            var rule = await context.Registry.Admin.CreatePullThroughCacheRuleAsync(
                new CreatePullThroughCacheRuleRequest(parse.GetValue(prefix), parse.GetValue(upstream), user, password), ct);
            if (context.Output.IsJson)
            {
                context.Output.Json(JsonSerializer.SerializeToNode(rule, PullThroughJsonContext.Default.PullThroughCacheRule));
                return ExitCodes.Success;
            }

            context.Output.Say($"created cache rule {rule.EcrRepositoryPrefix} -> {rule.UpstreamRegistryUrl}: pull {context.Settings.Registry.Authority}/{rule.EcrRepositoryPrefix}/REPO:TAG");
            return ExitCodes.Success;
        });

        var prefixes = new Argument<string[]>("PREFIX") { Description = "Rules to show (all without)", Arity = ArgumentArity.ZeroOrMore };
        var list = new Command("list", "Show the rules (ECR's DescribePullThroughCacheRules); passwords are never shown") { prefixes };
        actions.Set(list, async (parse, context, ct) =>
        {
            var rules = await context.Registry.Admin.DescribePullThroughCacheRulesAsync(parse.GetValue(prefixes), ct);
            if (context.Output.IsJson)
            {
                context.Output.Json(JsonSerializer.SerializeToNode(rules, PullThroughJsonContext.Default.DescribePullThroughCacheRulesResponse));
                return ExitCodes.Success;
            }

            context.Output.Table(["PREFIX", "UPSTREAM", "USER", "CREATED"], rules.PullThroughCacheRules.Select(r => (IReadOnlyList<string>)
            [
                r.EcrRepositoryPrefix, r.UpstreamRegistryUrl, r.Username ?? "(anonymous)", RepositoryCommands.Time(r.CreatedAt),
            ]));
            return ExitCodes.Success;
        });

        var deletePrefix = new Argument<string>("PREFIX") { Description = "The rule's prefix" };
        var delete = new Command("delete", "Delete a rule (ECR's DeletePullThroughCacheRule); what was cached stays as ordinary repositories") { deletePrefix };
        actions.Set(delete, async (parse, context, ct) =>
        {
            var rule = await context.Registry.Admin.DeletePullThroughCacheRuleAsync(parse.GetValue(deletePrefix)!, ct);
            context.Output.Say($"deleted cache rule {rule.EcrRepositoryPrefix} -> {rule.UpstreamRegistryUrl}");
            return ExitCodes.Success;
        });

        command.Add(create);
        command.Add(list);
        command.Add(delete);
        return command;
    }
}
