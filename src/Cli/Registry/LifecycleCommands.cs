using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Berth.Cli.Common;
using Berth.RegistryAdmin;

namespace Berth.Cli.Registry;

/// <summary>
/// <c>berth registry lifecycle put REPO FILE|-, get REPO, delete REPO, preview REPO [FILE|-], run [REPO], runs [REPO]</c>:
/// ECR's lifecycle policies (the policy file is ECR's JSON, as <c>aws ecr put-lifecycle-policy</c> takes it).
/// </summary>
internal static class LifecycleCommands
{
    public static Command Build(CommandActions actions)
    {
        var command = new Command("lifecycle", "Lifecycle policies: expire images by count or age, in ECR's JSON");

        var putName = Repository();
        var putFile = new Argument<string>("FILE") { Description = "The policy (ECR's lifecycle policy JSON); - reads stdin" };
        var put = new Command("put", "Set a repository's lifecycle policy (ECR's PutLifecyclePolicy)") { putName, putFile };
        actions.Set(put, async (parse, context, ct) =>
        {
            var text = await ReadAsync(parse.GetValue(putFile)!, ct);
            Print(context.Output, await context.Registry.Admin.PutLifecyclePolicyAsync(parse.GetValue(putName)!, text, ct));
            return ExitCodes.Success;
        });

        var getName = Repository();
        var get = new Command("get", "Show a repository's lifecycle policy") { getName };
        actions.Set(get, async (parse, context, ct) =>
        {
            Print(context.Output, await context.Registry.Admin.GetLifecyclePolicyAsync(parse.GetValue(getName)!, ct));
            return ExitCodes.Success;
        });

        var deleteName = Repository();
        var delete = new Command("delete", "Remove a repository's lifecycle policy") { deleteName };
        actions.Set(delete, async (parse, context, ct) =>
        {
            var removed = await context.Registry.Admin.DeleteLifecyclePolicyAsync(parse.GetValue(deleteName)!, ct);
            if (context.Output.IsJson)
            {
                context.Output.Json(JsonSerializer.SerializeToNode(removed, RegistryOperationsJsonContext.Default.LifecyclePolicyResponse));
            }
            else
            {
                context.Output.Say($"deleted the lifecycle policy of {removed.RepositoryName}");
            }

            return ExitCodes.Success;
        });

        var previewName = Repository();
        var previewFile = new Argument<string?>("FILE") { Description = "A policy to try instead of the repository's own (- reads stdin)", Arity = ArgumentArity.ZeroOrOne };
        var preview = new Command("preview", "Show what a policy would expire now, and why, without expiring anything") { previewName, previewFile };
        actions.Set(preview, async (parse, context, ct) =>
        {
            var file = parse.GetValue(previewFile);
            var result = await context.Registry.Admin.StartLifecyclePolicyPreviewAsync(parse.GetValue(previewName)!, file is null ? null : await ReadAsync(file, ct), ct);
            if (context.Output.IsJson)
            {
                context.Output.Json(JsonSerializer.SerializeToNode(result, RegistryOperationsJsonContext.Default.LifecyclePolicyPreviewResponse));
                return ExitCodes.Success;
            }

            context.Output.Table(["DIGEST", "TAGS", "PUSHED", "RULE", "WHY"], result.PreviewResults.Select(r => (IReadOnlyList<string>)
            [
                Short(r.ImageDigest), Tags(r.ImageTags), RepositoryCommands.Time(r.ImagePushedAt), r.AppliedRulePriority.ToString(CultureInfo.InvariantCulture), r.Reason,
            ]));
            context.Output.Out.WriteLine($"{result.Summary.ExpiringImageTotalCount} images would expire");
            return ExitCodes.Success;
        });

        var runName = new Argument<string?>("REPOSITORY") { Description = "Only this repository (default: every repository with a policy)", Arity = ArgumentArity.ZeroOrOne };
        var run = new Command("run", "Apply lifecycle policies now (they are also applied in the background)") { runName };
        actions.Set(run, async (parse, context, ct) =>
        {
            var result = await context.Registry.Admin.RunLifecyclePoliciesAsync(parse.GetValue(runName), ct);
            if (context.Output.IsJson)
            {
                context.Output.Json(JsonSerializer.SerializeToNode(result, RegistryOperationsJsonContext.Default.LifecycleRunSummary));
                return ExitCodes.Success;
            }

            Expirations(context.Output, result.Expirations);
            context.Output.Out.WriteLine(
                $"{result.ImagesExpired} images expired in {result.RepositoriesEvaluated} repositories" + (result.Error is { } error ? $"; stopped early: {error}" : string.Empty));
            return ExitCodes.Success;
        });

        var runsName = new Argument<string?>("REPOSITORY") { Description = "Only runs that touched this repository", Arity = ArgumentArity.ZeroOrOne };
        var runs = new Command("runs", "The last lifecycle runs and what they expired") { runsName };
        actions.Set(runs, async (parse, context, ct) =>
        {
            var list = await context.Registry.Admin.ListLifecycleRunsAsync(parse.GetValue(runsName), 20, ct);
            if (context.Output.IsJson)
            {
                context.Output.Json(JsonSerializer.SerializeToNode(list, RegistryOperationsJsonContext.Default.ListLifecycleRunSummary));
                return ExitCodes.Success;
            }

            context.Output.Table(["RUN", "STARTED", "TRIGGER", "REPOSITORIES", "EXPIRED", "ERROR"], list.Select(r => (IReadOnlyList<string>)
            [
                r.Id.ToString(CultureInfo.InvariantCulture), RepositoryCommands.Time(r.StartedAt), r.Trigger, r.RepositoriesEvaluated.ToString(CultureInfo.InvariantCulture),
                r.ImagesExpired.ToString(CultureInfo.InvariantCulture), r.Error ?? "-",
            ]));
            if (list.SelectMany(r => r.Expirations).ToList() is { Count: > 0 } expired)
            {
                context.Output.Out.WriteLine();
                Expirations(context.Output, expired);
            }

            return ExitCodes.Success;
        });

        command.Add(put);
        command.Add(get);
        command.Add(delete);
        command.Add(preview);
        command.Add(run);
        command.Add(runs);
        return command;
    }

    private static Argument<string> Repository() => new("REPOSITORY") { Description = "The repository, e.g. team-a/app" };

    private static async Task<string> ReadAsync(string path, CancellationToken ct) =>
        path == "-" ? await Console.In.ReadToEndAsync(ct) : await File.ReadAllTextAsync(path, ct);

    private static void Print(CliOutput output, LifecyclePolicyResponse policy)
    {
        if (output.IsJson)
        {
            output.Json(JsonSerializer.SerializeToNode(policy, RegistryOperationsJsonContext.Default.LifecyclePolicyResponse));
            return;
        }

        output.Out.WriteLine($"repository:     {policy.RepositoryName}");
        output.Out.WriteLine($"last evaluated: {(policy.LastEvaluatedAt is { } at ? RepositoryCommands.Time(at) : "never")}");
        output.Out.WriteLine(policy.LifecyclePolicyText);
    }

    private static void Expirations(CliOutput output, IEnumerable<LifecycleExpiration> expirations) =>
        output.Table(["REPOSITORY", "DIGEST", "TAGS", "RULE", "EXPIRED", "WHY"], expirations.Select(e => (IReadOnlyList<string>)
        [
            e.RepositoryName, Short(e.ImageDigest), Tags(e.ImageTags), e.AppliedRulePriority.ToString(CultureInfo.InvariantCulture), RepositoryCommands.Time(e.ExpiredAt), e.Reason,
        ]));

    private static string Short(string digest) => digest.Length > 19 ? digest[..19] : digest;

    private static string Tags(IReadOnlyList<string> tags) => tags.Count == 0 ? "<untagged>" : string.Join(",", tags);
}
