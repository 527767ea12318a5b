using Berth.RegistryAdmin;

namespace Berth.Registry.Gc;

/// <summary><c>POST /api/v1/gc/runs?dryRun=</c> runs a collection now; <c>GET /api/v1/gc/runs</c> lists the last runs.</summary>
internal static class GcApi
{
    public static RouteGroupBuilder MapGcApi(this RouteGroupBuilder admin)
    {
        admin.MapPost("/gc/runs", async (bool? dryRun, GarbageCollector collector, CancellationToken ct) =>
        {
            var report = await collector.RunAsync(dryRun ?? false, ct);
            return Results.Json(
                new GcRunReport(
                    ToContract(report.Run),
                    [.. report.Manifests.Select(m => m.Digest)],
                    [.. report.Blobs.Select(b => new GcBlob(b.Digest, b.Size))]),
                RegistryOperationsJsonContext.Default.GcRunReport);
        });
        admin.MapGet("/gc/runs", async (IGcMetadata metadata, CancellationToken ct) =>
            Results.Json((await metadata.ListRunsAsync(20, ct)).Select(ToContract).ToList(), RegistryOperationsJsonContext.Default.ListGcRunSummary));
        return admin;
    }

    private static GcRunSummary ToContract(GcRun run) => new(
        Utc(run.StartedAt), Utc(run.FinishedAt), run.DryRun, run.ManifestsDeleted, run.BlobsDeleted, run.BytesDeleted, run.Error);

    private static DateTimeOffset Utc(DateTime time) => new(DateTime.SpecifyKind(time, DateTimeKind.Utc));
}
