using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Berth.Cli.Common;
using Berth.RegistryAdmin;

namespace Berth.Cli.Registry;

/// <summary>
/// <c>berth registry replication put FILE|-, describe, status REPO TAG|DIGEST</c>: ECR's replication configuration (the
/// file is ECR's <c>replicationConfiguration</c> JSON, as <c>aws ecr put-replication-configuration</c> takes it, with
/// Berth's destination <c>url</c>, <c>username</c> and <c>password</c>) and each image's status per destination.
/// </summary>
internal static class ReplicationCommands
{
    public static Command Build(CommandActions actions)
    {
        var command = new Command("replication", "Replication of pushed images to other Berth registries, in ECR's JSON");

        var putFile = new Argument<string>("FILE") { Description = "The configuration ({\"rules\": [...]}, ECR's replicationConfiguration); - reads stdin" };
        var put = new Command("put", "Replace the replication configuration (ECR's PutReplicationConfiguration)") { putFile };
        actions.Set(put, async (parse, context, ct) =>
        {
            var file = parse.GetValue(putFile)!;
            var text = file == "-" ? await Console.In.ReadToEndAsync(ct) : await File.ReadAllTextAsync(file, ct);
            ReplicationConfiguration? configuration;
            try
            {
                configuration = JsonSerializer.Deserialize(text, ReplicationJsonContext.Default.ReplicationConfiguration);
            }
            catch (JsonException e)
            {
                throw new CliException($"{file} is not a replication configuration ({{\"rules\": [...]}}): {e.Message}", ExitCodes.Usage);
            }

            var answer = await context.Registry.Admin.PutReplicationConfigurationAsync(configuration!, ct);
            Print(context.Output, answer.ReplicationConfiguration!);
            return ExitCodes.Success;
        });

        var describe = new Command("describe", "Show the replication configuration (ECR's DescribeRegistry); passwords are never shown");
        actions.Set(describe, async (parse, context, ct) =>
        {
            var registry = await context.Registry.Admin.DescribeRegistryAsync(ct);
            if (context.Output.IsJson)
            {
                context.Output.Json(JsonSerializer.SerializeToNode(registry, ReplicationJsonContext.Default.DescribeRegistryResponse));
                return ExitCodes.Success;
            }

            context.Output.Out.WriteLine($"registry: {registry.RegistryId}");
            Print(context.Output, registry.ReplicationConfiguration);
            return ExitCodes.Success;
        });

        var statusName = new Argument<string>("REPOSITORY") { Description = "The repository, e.g. team-a/app" };
        var statusImage = new Argument<string>("IMAGE") { Description = "A tag or a digest (sha256:...)" };
        var status = new Command("status", "An image's replication status per destination (ECR's DescribeImageReplicationStatus)") { statusName, statusImage };
        actions.Set(status, async (parse, context, ct) =>
        {
            var image = parse.GetValue(statusImage)!;
            var id = image.Contains(':', StringComparison.Ordinal) ? new ImageIdentifier(image, null) : new ImageIdentifier(null, image);
            var answer = await context.Registry.Admin.DescribeImageReplicationStatusAsync(parse.GetValue(statusName)!, id, ct);
            if (context.Output.IsJson)
            {
                context.Output.Json(JsonSerializer.SerializeToNode(answer, ReplicationJsonContext.Default.DescribeImageReplicationStatusResponse));
                return ExitCodes.Success;
            }

            context.Output.Table(["DESTINATION", "REGION", "STATUS", "ATTEMPTS", "NEXT ATTEMPT", "REASON"], answer.ReplicationStatuses.Select(s => (IReadOnlyList<string>)
            [
                s.RegistryId, s.Region, s.Status, s.Attempts.ToString(CultureInfo.InvariantCulture),
                s.NextAttemptAt is { } next ? RepositoryCommands.Time(next) : "-", s.FailureCode ?? "-",
            ]));
            return ExitCodes.Success;
        });

        command.Add(put);
        command.Add(describe);
        command.Add(status);
        return command;
    }

    private static void Print(CliOutput output, ReplicationConfiguration configuration)
    {
        if (output.IsJson)
        {
            output.Json(JsonSerializer.SerializeToNode(configuration, ReplicationJsonContext.Default.ReplicationConfiguration));
            return;
        }

        var rules = configuration.Rules ?? [];
        output.Table(["RULE", "DESTINATION", "URL", "USER", "REPOSITORIES"], rules.SelectMany((rule, i) => (rule.Destinations ?? []).Select(d => (IReadOnlyList<string>)
        [
            (i + 1).ToString(CultureInfo.InvariantCulture), d.RegistryId ?? "-", d.Url ?? "-", d.Username ?? "-",
            rule.RepositoryFilters is { Count: > 0 } filters ? string.Join(",", filters.Select(f => f.Filter + "*")) : "all",
        ])));
        if (rules.Count == 0)
        {
            output.Out.WriteLine("no replication rules");
        }
    }
}
