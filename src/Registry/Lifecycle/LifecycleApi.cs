using Berth.Registry.Repositories;
using Berth.Registry.Storage;
using Berth.RegistryAdmin;

namespace Berth.Registry.Lifecycle;

/// <summary>
/// The lifecycle part of the admin API (<see cref="LifecycleApiPaths"/>): ECR's PutLifecyclePolicy, GetLifecyclePolicy,
/// DeleteLifecyclePolicy, StartLifecyclePolicyPreview and GetLifecyclePolicyPreview with ECR's shapes, plus runs now
/// and the record of past runs. Refusals carry ECR's exception names in the admin API's error body.
/// </summary>
internal static class LifecycleApi
{
    public const int MaxRunsListed = 100;

    public static RouteGroupBuilder MapLifecycleApi(this RouteGroupBuilder admin)
    {
        admin.MapGet("/lifecycle-policies/{**repository}", GetAsync);
        admin.MapPut("/lifecycle-policies/{**repository}", PutAsync);
        admin.MapDelete("/lifecycle-policies/{**repository}", DeleteAsync);
        admin.MapPost("/lifecycle-previews/{**repository}", StartPreviewAsync);
        admin.MapGet("/lifecycle-previews/{**repository}", GetPreview);
        admin.MapPost("/lifecycle/runs", RunAsync);
        admin.MapGet("/lifecycle/runs", ListRunsAsync);
        return admin;
    }

    private static async Task<IResult> GetAsync(string repository, RegistryStore store, ILifecycleMetadata metadata, CancellationToken ct)
    {
        if (!store.TryGetRepository(repository, out _))
        {
            return OperationsErrors.RepositoryNotFound(repository);
        }

        return await metadata.GetPolicyAsync(repository, ct) is { } policy
            ? Results.Json(ToContract(policy), RegistryOperationsJsonContext.Default.LifecyclePolicyResponse)
            : PolicyNotFound(repository);
    }

    private static async Task<IResult> PutAsync(string repository, LifecyclePolicyRequest request, RegistryStore store, ILifecycleMetadata metadata, TimeProvider time, CancellationToken ct)
    {
        if (!store.TryGetRepository(repository, out _))
        {
            return OperationsErrors.RepositoryNotFound(repository);
        }

        if (!LifecyclePolicyParser.TryParse(request.LifecyclePolicyText, out var policy, out var problem))
        {
            return OperationsErrors.InvalidParameter(problem);
        }

        if (!await metadata.PutPolicyAsync(repository, policy.Text, time.GetUtcNow().UtcDateTime, ct))
        {
            return OperationsErrors.RepositoryNotFound(repository);
        }

        return Results.Json(new LifecyclePolicyResponse(repository, policy.Text), RegistryOperationsJsonContext.Default.LifecyclePolicyResponse);
    }

    private static async Task<IResult> DeleteAsync(string repository, RegistryStore store, ILifecycleMetadata metadata, CancellationToken ct)
    {
        if (!store.TryGetRepository(repository, out _))
        {
            return OperationsErrors.RepositoryNotFound(repository);
        }

        return await metadata.DeletePolicyAsync(repository, ct) is { } policy
            ? Results.Json(ToContract(policy), RegistryOperationsJsonContext.Default.LifecyclePolicyResponse)
            : PolicyNotFound(repository);
    }

    private static async Task<IResult> StartPreviewAsync(
        string repository, LifecyclePolicyRequest? request, IRepositoryMetadata repositories, ILifecycleMetadata metadata, LifecyclePolicies policies, CancellationToken ct)
    {
        if (await repositories.GetRepositoryAsync(repository, ct) is not { } found)
        {
            return OperationsErrors.RepositoryNotFound(repository);
        }

        // ECR: without a policy text the preview evaluates the repository's own policy.
        var text = request?.LifecyclePolicyText;
        if (text is null)
        {
            if (await metadata.GetPolicyAsync(repository, ct) is not { } stored)
            {
                return PolicyNotFound(repository);
            }

            text = stored.Text;
        }

        if (!LifecyclePolicyParser.TryParse(text, out var policy, out var problem))
        {
            return OperationsErrors.InvalidParameter(problem);
        }

        var preview = await policies.PreviewAsync(found.Id, repository, policy, ct);
        return Results.Json(ToContract(preview), RegistryOperationsJsonContext.Default.LifecyclePolicyPreviewResponse);
    }

    private static IResult GetPreview(string repository, RegistryStore store, LifecyclePolicies policies)
    {
        if (!store.TryGetRepository(repository, out _))
        {
            return OperationsErrors.RepositoryNotFound(repository);
        }

        return policies.LastPreview(repository) is { } preview
            ? Results.Json(ToContract(preview), RegistryOperationsJsonContext.Default.LifecyclePolicyPreviewResponse)
            : OperationsErrors.Error(
                StatusCodes.Status404NotFound,
                "LifecyclePolicyPreviewNotFoundException",
                $"There is no lifecycle policy preview for the repository with name '{repository}' in the registry; start one first");
    }

    private static async Task<IResult> RunAsync(string? repository, RegistryStore store, ILifecycleMetadata metadata, LifecyclePolicies policies, CancellationToken ct)
    {
        if (repository is not null)
        {
            if (!store.TryGetRepository(repository, out _))
            {
                return OperationsErrors.RepositoryNotFound(repository);
            }

            if (await metadata.GetPolicyAsync(repository, ct) is null)
            {
                return PolicyNotFound(repository);
            }
        }

        var run = await policies.RunAsync(repository, LifecyclePolicies.Manual, ct);
        return Results.Json(ToContract(run), RegistryOperationsJsonContext.Default.LifecycleRunSummary);
    }

    private static async Task<IResult> ListRunsAsync(string? repository, int? n, ILifecycleMetadata metadata, CancellationToken ct)
    {
        if (n is < 1 or > MaxRunsListed)
        {
            return OperationsErrors.InvalidParameter($"n must be 1-{MaxRunsListed}");
        }

        var runs = await metadata.ListRunsAsync(n ?? 20, repository, ct);
        return Results.Json(runs.Select(ToContract).ToList(), RegistryOperationsJsonContext.Default.ListLifecycleRunSummary);
    }

    private static IResult PolicyNotFound(string repository) =>
        OperationsErrors.Error(
            StatusCodes.Status404NotFound,
            "LifecyclePolicyNotFoundException",
            $"Lifecycle policy does not exist for the repository with name '{repository}' in the registry");

    private static LifecyclePolicyResponse ToContract(StoredLifecyclePolicy policy) =>
        new(policy.Repository, policy.Text, policy.EvaluatedAt is { } at ? Utc(at) : null);

    private static LifecyclePolicyPreviewResponse ToContract(LifecyclePreview preview) => new(
        preview.Repository,
        preview.PolicyText,
        "COMPLETE",
        [.. preview.Expiries.Select(e => new LifecyclePolicyPreviewResult(
            [.. e.Image.Tags], e.Image.Digest, Utc(e.Image.PushedAt), new LifecyclePolicyRuleAction("EXPIRE"), e.Rule.Priority, e.Reason))],
        new LifecyclePolicyPreviewSummary(preview.Expiries.Count));

    private static LifecycleRunSummary ToContract(LifecycleRun run) => new(
        run.Id,
        Utc(run.StartedAt),
        Utc(run.FinishedAt),
        run.Trigger,
        run.Repository,
        run.RepositoriesEvaluated,
        run.ImagesExpired,
        run.Error,
        [.. run.Expirations.Select(e => new LifecycleExpiration(e.Repository, e.Digest, e.Tags, Utc(e.PushedAt), e.RulePriority, e.Reason, Utc(e.ExpiredAt)))]);

    private static DateTimeOffset Utc(DateTime time) => new(DateTime.SpecifyKind(time, DateTimeKind.Utc));
}
