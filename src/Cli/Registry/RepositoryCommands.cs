using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Berth.Cli.Common;
using Berth.RegistryAdmin;

namespace Berth.Cli.Registry;

/// <summary>
/// <c>berth registry repo create|describe|update|delete|list|template</c> and <c>berth registry images REPO</c>:
/// repositories as ECR resources, through the admin API.
/// </summary>
internal static class RepositoryCommands
{
    public static Command Repo(CommandActions actions)
    {
        var command = new Command("repo", "Repositories as resources: tag mutability, description, creation templates");

        var list = new Command("list", "List repositories with their settings");
        actions.Set(list, async (_, context, ct) =>
        {
            var all = new List<RepositoryDescription>();
            string? last = null;
            while (true)
            {
                var page = await context.Registry.Admin.ListRepositoriesAsync(last, 1000, ct);
                all.AddRange(page);
                if (page.Count < 1000)
                {
                    break;
                }

                last = page[^1].RepositoryName;
            }

            if (context.Output.IsJson)
            {
                context.Output.Json(JsonSerializer.SerializeToNode(all, RegistryOperationsJsonContext.Default.ListRepositoryDescription));
            }
            else
            {
                context.Output.Table(["REPOSITORY", "TAG MUTABILITY", "IMAGES", "CREATED", "DESCRIPTION"], all.Select(r => (IReadOnlyList<string>)
                [
                    r.RepositoryName, Mutability(r.ImageTagMutability, r.ImageTagMutabilityExclusionFilters), r.ImageCount.ToString(CultureInfo.InvariantCulture), Time(r.CreatedAt), r.Description ?? "-",
                ]));
            }

            return ExitCodes.Success;
        });

        var createName = new Argument<string>("REPOSITORY") { Description = "The repository, e.g. team-a/app" };
        var createSettings = new SettingsOptions();
        var create = new Command("create", "Create a repository (ECR's CreateRepository)") { createName };
        createSettings.AddTo(create);
        actions.Set(create, async (parse, context, ct) =>
        {
            var (mutability, filters, description) = createSettings.Read(parse);
            Print(context.Output, await context.Registry.Admin.CreateRepositoryAsync(new CreateRepositoryRequest(parse.GetValue(createName), mutability, filters, description), ct));
            return ExitCodes.Success;
        });

        var describeName = new Argument<string>("REPOSITORY") { Description = "The repository" };
        var describe = new Command("describe", "Show a repository's settings") { describeName };
        actions.Set(describe, async (parse, context, ct) =>
        {
            Print(context.Output, await context.Registry.Admin.DescribeRepositoryAsync(parse.GetValue(describeName)!, ct));
            return ExitCodes.Success;
        });

        var updateName = new Argument<string>("REPOSITORY") { Description = "The repository" };
        var updateSettings = new SettingsOptions();
        var update = new Command("update", "Change a repository's settings (what is not given stays)") { updateName };
        updateSettings.AddTo(update);
        actions.Set(update, async (parse, context, ct) =>
        {
            var (mutability, filters, description) = updateSettings.Read(parse);
            Print(context.Output, await context.Registry.Admin.UpdateRepositoryAsync(parse.GetValue(updateName)!, new UpdateRepositoryRequest(mutability, filters, description), ct));
            return ExitCodes.Success;
        });

        var deleteName = new Argument<string>("REPOSITORY") { Description = "The repository" };
        var force = new Option<bool>("--force") { Description = "Delete it with its images (the garbage collector reclaims the bytes)" };
        var delete = new Command("delete", "Delete a repository (ECR's DeleteRepository)") { deleteName, force };
        actions.Set(delete, async (parse, context, ct) =>
        {
            await context.Registry.Admin.DeleteRepositoryAsync(parse.GetValue(deleteName)!, parse.GetValue(force), ct);
            context.Output.Say($"deleted repository {parse.GetValue(deleteName)}");
            return ExitCodes.Success;
        });

        command.Add(list);
        command.Add(create);
        command.Add(describe);
        command.Add(update);
        command.Add(delete);
        command.Add(Template(actions));
        return command;
    }

    public static Command Images(CommandActions actions)
    {
        var repository = new Argument<string>("REPOSITORY") { Description = "The repository" };
        var command = new Command("images", "A repository's images: digest, tags, size, push and last pull time (ECR's DescribeImages)") { repository };
        actions.Set(command, async (parse, context, ct) =>
        {
            var images = await context.Registry.Admin.DescribeImagesAsync(parse.GetValue(repository)!, ct);
            if (context.Output.IsJson)
            {
                context.Output.Json(JsonSerializer.SerializeToNode(images, RegistryOperationsJsonContext.Default.ListImageDetail));
            }
            else
            {
                context.Output.Table(["DIGEST", "TAGS", "SIZE", "PUSHED", "LAST PULL", "MEDIA TYPE"], images.Select(i => (IReadOnlyList<string>)
                [
                    i.ImageDigest, i.ImageTags.Count == 0 ? "<untagged>" : string.Join(",", i.ImageTags), Size(i.ImageSizeInBytes), Time(i.ImagePushedAt),
                    i.LastRecordedPullTime is { } pulled ? Time(pulled) : "never", i.ImageManifestMediaType,
                ]));
            }

            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>The rows of <c>berth registry tags</c> from DescribeImages: one per tag, with its image's digest, size and push time.</summary>
    public static IEnumerable<IReadOnlyList<string>> TagRows(IEnumerable<ImageDetail> images) =>
        images.SelectMany(i => i.ImageTags.Select(tag => (IReadOnlyList<string>)[tag, i.ImageDigest, Size(i.ImageSizeInBytes), Time(i.ImagePushedAt)]))
            .OrderBy(row => row[0], StringComparer.Ordinal);

    private static Command Template(CommandActions actions)
    {
        var command = new Command("template", "Repository creation templates: settings for repositories a push creates, per prefix");

        var list = new Command("list", "List creation templates");
        actions.Set(list, async (_, context, ct) =>
        {
            var templates = await context.Registry.Admin.ListRepositoryTemplatesAsync(ct);
            if (context.Output.IsJson)
            {
                context.Output.Json(JsonSerializer.SerializeToNode(templates, RegistryOperationsJsonContext.Default.ListRepositoryCreationTemplate));
            }
            else
            {
                context.Output.Table(["PREFIX", "CREATE ON PUSH", "TAG MUTABILITY", "DESCRIPTION"], templates.Select(t => (IReadOnlyList<string>)
                [
                    t.Prefix ?? "-", t.CreateOnPush ? "yes" : "no", Mutability(t.ImageTagMutability ?? "MUTABLE", t.ImageTagMutabilityExclusionFilters ?? []), t.Description ?? "-",
                ]));
            }

            return ExitCodes.Success;
        });

        var prefix = new Argument<string>("PREFIX") { Description = "A namespace ending in '/' (team-a/) or ROOT for every repository" };
        var noCreate = new Option<bool>("--no-create-on-push") { Description = "A push may not create repositories under this prefix" };
        var settings = new SettingsOptions();
        var put = new Command("put", "Create or replace a creation template") { prefix, noCreate };
        settings.AddTo(put);
        actions.Set(put, async (parse, context, ct) =>
        {
            var (mutability, filters, description) = settings.Read(parse);
            var stored = await context.Registry.Admin.PutRepositoryTemplateAsync(
                new RepositoryCreationTemplate(parse.GetValue(prefix), mutability, filters, description, !parse.GetValue(noCreate)), ct);
            context.Output.Say($"template {stored.Prefix}: create on push {(stored.CreateOnPush ? "yes" : "no")}, tags {Mutability(stored.ImageTagMutability ?? "MUTABLE", stored.ImageTagMutabilityExclusionFilters ?? [])}");
            return ExitCodes.Success;
        });

        var deletePrefix = new Argument<string>("PREFIX") { Description = "The template's prefix" };
        var delete = new Command("delete", "Remove a creation template") { deletePrefix };
        actions.Set(delete, async (parse, context, ct) =>
        {
            await context.Registry.Admin.DeleteRepositoryTemplateAsync(parse.GetValue(deletePrefix)!, ct);
            context.Output.Say($"deleted template {parse.GetValue(deletePrefix)}");
            return ExitCodes.Success;
        });

        command.Add(list);
        command.Add(put);
        command.Add(delete);
        return command;
    }

    private static void Print(CliOutput output, RepositoryDescription repository)
    {
        if (output.IsJson)
        {
            output.Json(JsonSerializer.SerializeToNode(repository, RegistryOperationsJsonContext.Default.RepositoryDescription));
            return;
        }

        output.Fields(
        [
            ("Repository", repository.RepositoryName),
            ("Tag mutability", Mutability(repository.ImageTagMutability, repository.ImageTagMutabilityExclusionFilters)),
            ("Description", repository.Description ?? "-"),
            ("Images", repository.ImageCount.ToString(CultureInfo.InvariantCulture)),
            ("Created", Time(repository.CreatedAt)),
        ]);
    }

    private static string Mutability(string mutability, IReadOnlyList<TagMutabilityExclusionFilter> filters) =>
        filters.Count == 0 ? mutability : $"{mutability} except {string.Join(",", filters.Select(f => f.Filter))}";

    internal static string Size(long bytes) => bytes switch
    {
        >= 1L << 30 => (bytes / (double)(1L << 30)).ToString("0.0 'GiB'", CultureInfo.InvariantCulture),
        >= 1L << 20 => (bytes / (double)(1L << 20)).ToString("0.0 'MiB'", CultureInfo.InvariantCulture),
        >= 1L << 10 => (bytes / 1024.0).ToString("0.0 'KiB'", CultureInfo.InvariantCulture),
        _ => bytes.ToString(CultureInfo.InvariantCulture) + " B",
    };

    private static string Time(DateTimeOffset time) => time.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>--tag-mutability, --exclude (repeatable), --description: the settings a repository or template takes.</summary>
    private sealed class SettingsOptions
    {
        private readonly Option<string?> _mutability = new("--tag-mutability")
        {
            Description = "MUTABLE, IMMUTABLE, IMMUTABLE_WITH_EXCLUSION or MUTABLE_WITH_EXCLUSION",
        };

        private readonly Option<bool> _immutable = new("--immutable") { Description = "Short for --tag-mutability IMMUTABLE (IMMUTABLE_WITH_EXCLUSION with --exclude)" };

        private readonly Option<string[]> _exclude = new("--exclude") { Description = "A tag wildcard the mutability setting does not apply to (ECR's exclusion filter), repeatable, e.g. 'latest' or 'dev-*'" };

        private readonly Option<string?> _description = new("--description") { Description = "What the repository holds" };

        public void AddTo(Command command)
        {
            command.Add(_mutability);
            command.Add(_immutable);
            command.Add(_exclude);
            command.Add(_description);
        }

        public (string? Mutability, List<TagMutabilityExclusionFilter>? Filters, string? Description) Read(ParseResult parse)
        {
            var excludes = parse.GetValue(_exclude) ?? [];
            var mutability = parse.GetValue(_mutability)?.ToUpperInvariant()
                ?? (parse.GetValue(_immutable) ? (excludes.Length > 0 ? "IMMUTABLE_WITH_EXCLUSION" : "IMMUTABLE") : null);
            List<TagMutabilityExclusionFilter>? filters = excludes.Length > 0 ? [.. excludes.Select(e => new TagMutabilityExclusionFilter("WILDCARD", e))] : null;
            return (mutability, filters, parse.GetValue(_description));
        }
    }
}
