using Berth.RegistryAdmin;

namespace Berth.Registry.Repositories;

/// <summary>
/// The repositories part of the admin API (<see cref="OperationsApiPaths"/>): ECR's CreateRepository,
/// DescribeRepositories, PutImageTagMutability and DeleteRepository, and the creation templates. Errors carry ECR's
/// exception names as their code, inside the admin API's error body. Admins only, like the rest of the admin API.
/// </summary>
internal static class RepositoryApi
{
    public const int MaxPageSize = 1000;

    public static RouteGroupBuilder MapRepositoryApi(this RouteGroupBuilder admin)
    {
        admin.MapGet("/repositories", ListAsync);
        admin.MapPost("/repositories", CreateAsync);
        admin.MapGet("/repositories/{**name}", DescribeAsync);
        admin.MapPatch("/repositories/{**name}", UpdateAsync);
        admin.MapDelete("/repositories/{**name}", DeleteAsync);
        admin.MapGet("/repository-templates", (RepositoryCatalog catalog) => catalog.Templates.Select(ToContract).ToList());
        admin.MapPut("/repository-templates", PutTemplateAsync);
        admin.MapDelete("/repository-templates", DeleteTemplateAsync);
        return admin;
    }

    private static async Task<IResult> ListAsync(string? last, int? n, IRepositoryMetadata metadata, CancellationToken ct)
    {
        if (n is < 1 or > MaxPageSize)
        {
            return OperationsErrors.InvalidParameter($"n must be 1-{MaxPageSize}");
        }

        var repositories = await metadata.ListRepositoriesAsync(last, n ?? 100, ct);
        return Results.Json(repositories.Select(ToContract).ToList(), RegistryOperationsJsonContext.Default.ListRepositoryDescription);
    }

    private static async Task<IResult> CreateAsync(CreateRepositoryRequest request, RepositoryCatalog catalog, IRepositoryMetadata metadata, CancellationToken ct)
    {
        if (!RepositoryCatalog.IsValidName(request.RepositoryName))
        {
            return OperationsErrors.InvalidParameter(
                $"Invalid parameter at 'repositoryName' failed to satisfy constraint: '{request.RepositoryName}' is not a repository name (lower-case components of a-z, 0-9 and separators, joined by '/')");
        }

        if (!TryParseSettings(request.ImageTagMutability, request.ImageTagMutabilityExclusionFilters, request.Description, RepositorySettings.Default, out var settings, out var problem))
        {
            return OperationsErrors.InvalidParameter(problem);
        }

        if (!await catalog.CreateAsync(request.RepositoryName, settings, ct))
        {
            return OperationsErrors.Error(StatusCodes.Status409Conflict, "RepositoryAlreadyExistsException", $"The repository with name '{request.RepositoryName}' already exists in the registry");
        }

        var created = await metadata.GetRepositoryAsync(request.RepositoryName, ct);
        return Results.Json(ToContract(created!), RegistryOperationsJsonContext.Default.RepositoryDescription, statusCode: StatusCodes.Status201Created);
    }

    private static async Task<IResult> DescribeAsync(string name, IRepositoryMetadata metadata, CancellationToken ct) =>
        await metadata.GetRepositoryAsync(name, ct) is { } repository
            ? Results.Json(ToContract(repository), RegistryOperationsJsonContext.Default.RepositoryDescription)
            : OperationsErrors.RepositoryNotFound(name);

    private static async Task<IResult> UpdateAsync(string name, UpdateRepositoryRequest request, RepositoryCatalog catalog, IRepositoryMetadata metadata, CancellationToken ct)
    {
        if (await metadata.GetRepositoryAsync(name, ct) is not { } current)
        {
            return OperationsErrors.RepositoryNotFound(name);
        }

        // A new mutability without filters drops the old filters (they belong to the old setting).
        var filters = request.ImageTagMutabilityExclusionFilters
            ?? (request.ImageTagMutability is null ? current.Settings.Exclusions.Select(f => new TagMutabilityExclusionFilter("WILDCARD", f)).ToList() : null);
        var description = request.Description is null ? current.Settings.Description : request.Description.Length == 0 ? null : request.Description;
        if (!TryParseSettings(request.ImageTagMutability ?? TagMutabilityNames.ToName(current.Settings.Mutability), filters, description, current.Settings, out var settings, out var problem))
        {
            return OperationsErrors.InvalidParameter(problem);
        }

        if (!await catalog.UpdateAsync(name, settings, ct))
        {
            return OperationsErrors.RepositoryNotFound(name);
        }

        return Results.Json(ToContract(current with { Settings = settings }), RegistryOperationsJsonContext.Default.RepositoryDescription);
    }

    private static async Task<IResult> DeleteAsync(string name, bool? force, RepositoryCatalog catalog, CancellationToken ct) =>
        await catalog.DeleteAsync(name, force ?? false, ct) switch
        {
            RepositoryDeletion.Deleted => Results.NoContent(),
            RepositoryDeletion.NotEmpty => OperationsErrors.Error(
                StatusCodes.Status409Conflict,
                "RepositoryNotEmptyException",
                $"The repository with name '{name}' in registry cannot be deleted because it still contains images (use force)"),
            _ => OperationsErrors.RepositoryNotFound(name),
        };

    private static async Task<IResult> PutTemplateAsync(RepositoryCreationTemplate request, RepositoryCatalog catalog, TimeProvider time, CancellationToken ct)
    {
        if (!CreationTemplate.IsValidPrefix(request.Prefix))
        {
            return OperationsErrors.InvalidParameter($"Invalid parameter at 'prefix': '{request.Prefix}' must be ROOT or a namespace ending in '/', e.g. 'team-a/'");
        }

        if (!TryParseSettings(request.ImageTagMutability, request.ImageTagMutabilityExclusionFilters, request.Description, RepositorySettings.Default, out var settings, out var problem))
        {
            return OperationsErrors.InvalidParameter(problem);
        }

        var now = time.GetUtcNow().UtcDateTime;
        await catalog.PutTemplateAsync(new CreationTemplate(request.Prefix, settings, request.CreateOnPush, now, now), ct);
        var stored = catalog.Templates.First(t => t.Prefix == request.Prefix);
        return Results.Json(ToContract(stored), RegistryOperationsJsonContext.Default.RepositoryCreationTemplate);
    }

    private static async Task<IResult> DeleteTemplateAsync(string? prefix, RepositoryCatalog catalog, CancellationToken ct) =>
        prefix is not null && await catalog.DeleteTemplateAsync(prefix, ct)
            ? Results.NoContent()
            : OperationsErrors.Error(StatusCodes.Status404NotFound, "TemplateNotFoundException", $"No repository creation template has the prefix '{prefix}'");

    private static bool TryParseSettings(
        string? mutabilityName,
        IReadOnlyList<TagMutabilityExclusionFilter>? filters,
        string? description,
        RepositorySettings defaults,
        out RepositorySettings settings,
        out string problem)
    {
        settings = defaults;
        problem = string.Empty;
        var mutability = TagMutability.Mutable;
        if (mutabilityName is not null && !TagMutabilityNames.TryParse(mutabilityName, out mutability))
        {
            problem = $"Invalid parameter at 'imageTagMutability' failed to satisfy constraint: Member must satisfy enum value set: [MUTABLE, IMMUTABLE, IMMUTABLE_WITH_EXCLUSION, MUTABLE_WITH_EXCLUSION] ('{mutabilityName}')";
            return false;
        }

        if (filters?.FirstOrDefault(f => f.FilterType != "WILDCARD") is { } wrongType)
        {
            problem = $"Invalid parameter at 'imageTagMutabilityExclusionFilters.filterType' failed to satisfy constraint: Member must satisfy enum value set: [WILDCARD] ('{wrongType.FilterType}')";
            return false;
        }

        settings = new RepositorySettings(mutability, [.. (filters ?? []).Select(f => f.Filter ?? string.Empty)], description);
        problem = settings.Problem() ?? string.Empty;
        return problem.Length == 0;
    }

    private static RepositoryDescription ToContract(RepositoryRecord repository) => new(
        repository.Name,
        new DateTimeOffset(DateTime.SpecifyKind(repository.CreatedAt, DateTimeKind.Utc)),
        TagMutabilityNames.ToName(repository.Settings.Mutability),
        Filters(repository.Settings),
        repository.Settings.Description,
        repository.ImageCount);

    private static RepositoryCreationTemplate ToContract(CreationTemplate template) => new(
        template.Prefix,
        TagMutabilityNames.ToName(template.Settings.Mutability),
        Filters(template.Settings),
        template.Settings.Description,
        template.CreateOnPush,
        new DateTimeOffset(DateTime.SpecifyKind(template.CreatedAt, DateTimeKind.Utc)),
        new DateTimeOffset(DateTime.SpecifyKind(template.UpdatedAt, DateTimeKind.Utc)));

    private static List<TagMutabilityExclusionFilter> Filters(RepositorySettings settings) =>
        [.. settings.Exclusions.Select(f => new TagMutabilityExclusionFilter("WILDCARD", f))];
}

/// <summary>The operations API's refusals: ECR's exception names as codes, in the admin API's error body.</summary>
internal static class OperationsErrors
{
    public static IResult Error(int status, string code, string message) =>
        Results.Json(new RegistryErrorResponse([new RegistryErrorBody(code, message)]), RegistryAdminJsonContext.Default.RegistryErrorResponse, statusCode: status);

    public static IResult InvalidParameter(string message) => Error(StatusCodes.Status400BadRequest, "InvalidParameterException", message);

    public static IResult RepositoryNotFound(string name) =>
        Error(StatusCodes.Status404NotFound, "RepositoryNotFoundException", $"The repository with name '{name}' does not exist in the registry");
}
