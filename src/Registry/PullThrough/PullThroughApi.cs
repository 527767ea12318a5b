using Berth.Registry.Repositories;
using Berth.RegistryAdmin;

namespace Berth.Registry.PullThrough;

/// <summary>
/// The pull-through cache part of the admin API (<see cref="PullThroughApiPaths"/>): ECR's CreatePullThroughCacheRule,
/// DescribePullThroughCacheRules and DeletePullThroughCacheRule with ECR's shapes and exception names (Berth keeps the
/// upstream's user and password where ECR names a Secrets Manager secret; the password is never shown).
/// </summary>
internal static class PullThroughApi
{
    public static RouteGroupBuilder MapPullThroughApi(this RouteGroupBuilder admin)
    {
        var rules = PullThroughApiPaths.Rules[AdminApiPaths.Prefix.Length..];
        admin.MapPost(rules, CreateAsync);
        admin.MapGet(rules, Describe);
        admin.MapDelete(rules + "/{**prefix}", DeleteAsync);
        return admin;
    }

    private static async Task<IResult> CreateAsync(HttpContext context, PullThroughRules rules, PullThroughStore store, PullThroughCache cache, CancellationToken ct)
    {
        CreatePullThroughCacheRuleRequest? request;
        try
        {
            request = await context.Request.ReadFromJsonAsync(PullThroughJsonContext.Default.CreatePullThroughCacheRuleRequest, ct);
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException)
        {
            return OperationsErrors.InvalidParameter($"the body is not a CreatePullThroughCacheRule request: {e.Message}");
        }

        if (!PullThroughRuleValidation.TryValidatePrefix(request?.EcrRepositoryPrefix, out var problem))
        {
            return OperationsErrors.InvalidParameter(problem);
        }

        if (!PullThroughRuleValidation.TryParseUpstream(request!.UpstreamRegistryUrl, out var upstream, out problem))
        {
            return OperationsErrors.InvalidParameter(problem);
        }

        if ((request.Username is null) != (request.Password is null))
        {
            return OperationsErrors.InvalidParameter("Invalid parameter at 'username': give a username with its password, or neither for anonymous pulls");
        }

        var prefix = request.EcrRepositoryPrefix!;
        if (rules.Current.FirstOrDefault(r => r.Prefix == prefix) is not null)
        {
            return AlreadyExists(prefix);
        }

        // A repository may be under one rule only: "hub" and "hub/library" would both claim hub/library/x.
        if (rules.Current.FirstOrDefault(r => prefix.StartsWith(r.Prefix + "/", StringComparison.Ordinal) || r.Prefix.StartsWith(prefix + "/", StringComparison.Ordinal)) is { } overlap)
        {
            return OperationsErrors.InvalidParameter($"Invalid parameter at 'ecrRepositoryPrefix': '{prefix}' overlaps the pull through cache rule '{overlap.Prefix}'");
        }

        var rule = new PullThroughRule(prefix, upstream, request.Username, request.Password, default, default);
        if (!await store.CreateAsync(rule, ct))
        {
            return AlreadyExists(prefix);
        }

        await ReloadAsync(rules, store, cache);
        var created = rules.Current.First(r => r.Prefix == prefix);
        return Results.Json(Contract(context, created), PullThroughJsonContext.Default.PullThroughCacheRule, statusCode: StatusCodes.Status201Created);
    }

    private static IResult Describe(HttpContext context, string? ecrRepositoryPrefixes, PullThroughRules rules)
    {
        var current = rules.Current;
        if (!string.IsNullOrEmpty(ecrRepositoryPrefixes))
        {
            var wanted = ecrRepositoryPrefixes.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (wanted.FirstOrDefault(p => current.All(r => r.Prefix != p)) is { } missing)
            {
                return NotFound(missing);
            }

            current = [.. current.Where(r => wanted.Contains(r.Prefix, StringComparer.Ordinal))];
        }

        return Results.Json(
            new DescribePullThroughCacheRulesResponse([.. current.Select(r => Contract(context, r))]),
            PullThroughJsonContext.Default.DescribePullThroughCacheRulesResponse);
    }

    private static async Task<IResult> DeleteAsync(HttpContext context, string prefix, PullThroughRules rules, PullThroughStore store, PullThroughCache cache, CancellationToken ct)
    {
        if (rules.Current.FirstOrDefault(r => r.Prefix == prefix) is not { } rule || !await store.DeleteAsync(prefix, ct))
        {
            return NotFound(prefix);
        }

        // The cached repositories stay, as ECR leaves them: ordinary repositories from now on.
        await ReloadAsync(rules, store, cache);
        return Results.Json(Contract(context, rule), PullThroughJsonContext.Default.PullThroughCacheRule);
    }

    private static async Task ReloadAsync(PullThroughRules rules, PullThroughStore store, PullThroughCache cache)
    {
        rules.Set(await store.LoadAsync());
        cache.RulesChanged();
    }

    private static PullThroughCacheRule Contract(HttpContext context, PullThroughRule rule) => new(
        rule.Prefix,
        rule.UpstreamUrl.ToString().TrimEnd('/'),
        new DateTimeOffset(rule.CreatedAt),
        new DateTimeOffset(rule.UpdatedAt),
        context.Request.Host.Value ?? "",
        rule.Username);

    private static IResult AlreadyExists(string prefix) =>
        OperationsErrors.Error(StatusCodes.Status409Conflict, "PullThroughCacheRuleAlreadyExistsException", $"A pull through cache rule with the prefix '{prefix}' already exists in the registry");

    private static IResult NotFound(string prefix) =>
        OperationsErrors.Error(StatusCodes.Status404NotFound, "PullThroughCacheRuleNotFoundException", $"The pull through cache rule with the prefix '{prefix}' does not exist in the registry");
}
