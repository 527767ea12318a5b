namespace Berth.RegistryAdmin;

// The registry operations API (OperationsApiPaths): repositories, templates, images.
public sealed partial class RegistryAdminClient
{
    private static RegistryOperationsJsonContext Ops => RegistryOperationsJsonContext.Default;

    /// <summary>Repositories in name order, after <paramref name="last"/>, at most <paramref name="limit"/>.</summary>
    public Task<List<RepositoryDescription>> ListRepositoriesAsync(string? last, int limit, CancellationToken cancellationToken) =>
        GetAsync($"{OperationsApiPaths.Repositories}?n={limit}{(last is null ? "" : "&last=" + Uri.EscapeDataString(last))}", Ops.ListRepositoryDescription, cancellationToken);

    /// <summary>Creates a repository (ECR's CreateRepository).</summary>
    public Task<RepositoryDescription> CreateRepositoryAsync(CreateRepositoryRequest request, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Post, OperationsApiPaths.Repositories, request, Ops.CreateRepositoryRequest, Ops.RepositoryDescription, cancellationToken);

    /// <summary>One repository.</summary>
    public Task<RepositoryDescription> DescribeRepositoryAsync(string name, CancellationToken cancellationToken) =>
        GetAsync(OperationsApiPaths.Repository(name), Ops.RepositoryDescription, cancellationToken);

    /// <summary>Changes a repository's settings.</summary>
    public Task<RepositoryDescription> UpdateRepositoryAsync(string name, UpdateRepositoryRequest request, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Patch, OperationsApiPaths.Repository(name), request, Ops.UpdateRepositoryRequest, Ops.RepositoryDescription, cancellationToken);

    /// <summary>Deletes a repository; with <paramref name="force"/> also when it holds images.</summary>
    public Task DeleteRepositoryAsync(string name, bool force, CancellationToken cancellationToken) =>
        SendAsync<object>(HttpMethod.Delete, $"{OperationsApiPaths.Repository(name)}?force={(force ? "true" : "false")}", null, null, cancellationToken);

    /// <summary>Every repository creation template.</summary>
    public Task<List<RepositoryCreationTemplate>> ListRepositoryTemplatesAsync(CancellationToken cancellationToken) =>
        GetAsync(OperationsApiPaths.RepositoryTemplates, Ops.ListRepositoryCreationTemplate, cancellationToken);

    /// <summary>Creates or replaces a repository creation template.</summary>
    public Task<RepositoryCreationTemplate> PutRepositoryTemplateAsync(RepositoryCreationTemplate template, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Put, OperationsApiPaths.RepositoryTemplates, template, Ops.RepositoryCreationTemplate, Ops.RepositoryCreationTemplate, cancellationToken);

    /// <summary>Removes a repository creation template.</summary>
    public Task DeleteRepositoryTemplateAsync(string prefix, CancellationToken cancellationToken) =>
        SendAsync<object>(HttpMethod.Delete, $"{OperationsApiPaths.RepositoryTemplates}?prefix={Uri.EscapeDataString(prefix)}", null, null, cancellationToken);

    /// <summary>The repository's images (ECR's DescribeImages), newest push first.</summary>
    public Task<List<ImageDetail>> DescribeImagesAsync(string repository, CancellationToken cancellationToken) =>
        GetAsync(OperationsApiPaths.Images(repository), Ops.ListImageDetail, cancellationToken);

    /// <summary>Runs a garbage collection now; with <paramref name="dryRun"/> only reports what it would delete.</summary>
    public Task<GcRunReport> RunGcAsync(bool dryRun, CancellationToken cancellationToken) =>
        SendAsync<object, GcRunReport>(HttpMethod.Post, $"{OperationsApiPaths.GcRuns}?dryRun={(dryRun ? "true" : "false")}", null, null, Ops.GcRunReport, cancellationToken);

    /// <summary>The last garbage collection runs, newest first.</summary>
    public Task<List<GcRunSummary>> ListGcRunsAsync(CancellationToken cancellationToken) =>
        GetAsync(OperationsApiPaths.GcRuns, Ops.ListGcRunSummary, cancellationToken);

    /// <summary>The repository's lifecycle policy (ECR's GetLifecyclePolicy).</summary>
    public Task<LifecyclePolicyResponse> GetLifecyclePolicyAsync(string repository, CancellationToken cancellationToken) =>
        GetAsync(LifecycleApiPaths.Policy(repository), Ops.LifecyclePolicyResponse, cancellationToken);

    /// <summary>Sets the repository's lifecycle policy (ECR's PutLifecyclePolicy); the text is ECR's policy JSON.</summary>
    public Task<LifecyclePolicyResponse> PutLifecyclePolicyAsync(string repository, string policyText, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Put, LifecycleApiPaths.Policy(repository), new LifecyclePolicyRequest(policyText), Ops.LifecyclePolicyRequest, Ops.LifecyclePolicyResponse, cancellationToken);

    /// <summary>Removes the repository's lifecycle policy (ECR's DeleteLifecyclePolicy); answers the removed policy.</summary>
    public Task<LifecyclePolicyResponse> DeleteLifecyclePolicyAsync(string repository, CancellationToken cancellationToken) =>
        SendAsync<object, LifecyclePolicyResponse>(HttpMethod.Delete, LifecycleApiPaths.Policy(repository), null, null, Ops.LifecyclePolicyResponse, cancellationToken);

    /// <summary>Evaluates a policy (or, with null, the repository's own) without expiring anything (ECR's StartLifecyclePolicyPreview).</summary>
    public Task<LifecyclePolicyPreviewResponse> StartLifecyclePolicyPreviewAsync(string repository, string? policyText, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Post, LifecycleApiPaths.Preview(repository), new LifecyclePolicyRequest(policyText), Ops.LifecyclePolicyRequest, Ops.LifecyclePolicyPreviewResponse, cancellationToken);

    /// <summary>The repository's last preview (ECR's GetLifecyclePolicyPreview).</summary>
    public Task<LifecyclePolicyPreviewResponse> GetLifecyclePolicyPreviewAsync(string repository, CancellationToken cancellationToken) =>
        GetAsync(LifecycleApiPaths.Preview(repository), Ops.LifecyclePolicyPreviewResponse, cancellationToken);

    /// <summary>Applies the lifecycle policy of <paramref name="repository"/> (or of every repository with one) now.</summary>
    public Task<LifecycleRunSummary> RunLifecyclePoliciesAsync(string? repository, CancellationToken cancellationToken) =>
        SendAsync<object, LifecycleRunSummary>(
            HttpMethod.Post, repository is null ? LifecycleApiPaths.Runs : $"{LifecycleApiPaths.Runs}?repository={Uri.EscapeDataString(repository)}", null, null, Ops.LifecycleRunSummary, cancellationToken);

    /// <summary>The last lifecycle runs, newest first, with what each expired (only <paramref name="repository"/>'s when given).</summary>
    public Task<List<LifecycleRunSummary>> ListLifecycleRunsAsync(string? repository, int limit, CancellationToken cancellationToken) =>
        GetAsync($"{LifecycleApiPaths.Runs}?n={limit}{(repository is null ? "" : "&repository=" + Uri.EscapeDataString(repository))}", Ops.ListLifecycleRunSummary, cancellationToken);
}
