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
}
