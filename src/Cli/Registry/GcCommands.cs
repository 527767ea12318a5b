using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Berth.Cli.Common;
using Berth.RegistryAdmin;

namespace Berth.Cli.Registry;

/// <summary><c>berth registry gc [--dry-run]</c> and <c>berth registry gc runs</c>: the online garbage collector.</summary>
internal static class GcCommands
{
    public static Command Build(CommandActions actions)
    {
        var dryRun = new Option<bool>("--dry-run") { Description = "Only show what would be deleted and how many bytes" };
        var command = new Command("gc", "Run the registry's garbage collection now (it also runs in the background)") { dryRun };
        actions.Set(command, async (parse, context, ct) =>
        {
            var report = await context.Registry.Admin.RunGcAsync(parse.GetValue(dryRun), ct);
            if (context.Output.IsJson)
            {
                context.Output.Json(JsonSerializer.SerializeToNode(report, RegistryOperationsJsonContext.Default.GcRunReport));
                return ExitCodes.Success;
            }

            var verb = report.Run.DryRun ? "would delete" : "deleted";
            context.Output.Table(["KIND", "DIGEST", "SIZE"], report.Manifests.Select(m => (IReadOnlyList<string>)["manifest", m, "-"])
                .Concat(report.Blobs.Select(b => (IReadOnlyList<string>)["blob", b.Digest, RepositoryCommands.Size(b.Size)])));
            context.Output.Out.WriteLine(
                $"{verb} {report.Run.ManifestsDeleted} manifests and {report.Run.BlobsDeleted} blobs ({RepositoryCommands.Size(report.Run.BytesDeleted)})"
                + (report.Run.Error is { } error ? $"; stopped early: {error}" : string.Empty));
            return ExitCodes.Success;
        });

        var runs = new Command("runs", "The last garbage collection runs");
        actions.Set(runs, async (_, context, ct) =>
        {
            var list = await context.Registry.Admin.ListGcRunsAsync(ct);
            if (context.Output.IsJson)
            {
                context.Output.Json(JsonSerializer.SerializeToNode(list, RegistryOperationsJsonContext.Default.ListGcRunSummary));
            }
            else
            {
                context.Output.Table(["STARTED", "SECONDS", "DRY RUN", "MANIFESTS", "BLOBS", "BYTES", "ERROR"], list.Select(r => (IReadOnlyList<string>)
                [
                    r.StartedAt.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture),
                    (r.FinishedAt - r.StartedAt).TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture),
                    r.DryRun ? "yes" : "no",
                    r.ManifestsDeleted.ToString(CultureInfo.InvariantCulture),
                    r.BlobsDeleted.ToString(CultureInfo.InvariantCulture),
                    RepositoryCommands.Size(r.BytesDeleted),
                    r.Error ?? "-",
                ]));
            }

            return ExitCodes.Success;
        });
        command.Add(runs);
        return command;
    }
}
