using Berth.Core.TaskDefinitions;
using Berth.Scheduler.Kernel;
using TaskDefinition = Berth.Core.TaskDefinitions.TaskDefinition;

namespace Berth.Scheduler.TaskDefinitions;

/// <summary>Task definitions (global, as in ECS): register, describe, list, list families, deregister.</summary>
internal sealed class TaskDefinitionHandler(StateKernel kernel)
{
    public Task<TaskDefinitionRecord> RegisterAsync(string json)
    {
        TaskDefinition definition;
        try
        {
            definition = TaskDefinitionJson.Parse(json);
        }
        catch (TaskDefinitionException e)
        {
            throw StateException.Invalid(e.Message);
        }

        var normalized = TaskDefinitionJson.Serialize(definition);
        var requirements = TaskDefinitionRecord.RequirementsOf(definition);
        return kernel.CommitCatalogAsync((tx, catalog) =>
        {
            var family = definition.Family!;
            var revision = catalog.NextRevision(family);
            var record = new TaskDefinitionRecord
            {
                Family = family,
                Revision = revision,
                Definition = definition,
                Json = normalized,
                Requirements = requirements,
                Arn = Arns.TaskDefinition(family, revision),
                RegisteredAt = tx.Now,
            };
            catalog.Add(record);
            tx.Save(record);
            return record;
        });
    }

    public TaskDefinitionRecord Describe(string reference) =>
        kernel.Definitions.Resolve(reference) ?? throw StateException.NotFound($"Task definition '{reference}' not found.");

    public (IReadOnlyList<string> Arns, string NextToken) List(string family, string status, bool descending, int maxResults, string nextToken)
    {
        var all = kernel.Definitions.Read(families => families.Values.SelectMany(r => r)
            .Where(d => string.IsNullOrEmpty(family) || d.Family == family)
            .Where(d => MatchesStatus(d.Status, status))
            .ToList());
        var ordered = descending
            ? all.OrderBy(d => d.Family, StringComparer.Ordinal).ThenByDescending(d => d.Revision)
            : all.OrderBy(d => d.Family, StringComparer.Ordinal).ThenBy(d => d.Revision);
        var (page, next) = Paging.Page(ordered, maxResults, nextToken, d => d.Arn);
        return (page.Select(d => d.Arn).ToList(), next);
    }

    public (IReadOnlyList<string> Families, string NextToken) ListFamilies(string prefix, string status, int maxResults, string nextToken)
    {
        var families = kernel.Definitions.Read(all => all
            .Where(f => string.IsNullOrEmpty(prefix) || f.Key.StartsWith(prefix, StringComparison.Ordinal))
            .Where(f => status switch
            {
                "ALL" => true,
                "INACTIVE" => f.Value.TrueForAll(d => d.Status == Statuses.Inactive),
                _ => f.Value.Exists(d => d.IsActive),
            })
            .Select(f => f.Key)
            .Order(StringComparer.Ordinal)
            .ToList());
        var (page, next) = Paging.Page(families, maxResults, nextToken, f => f);
        return (page, next);
    }

    public Task<TaskDefinitionRecord> DeregisterAsync(string reference)
    {
        if (!Arns.Id(reference).Contains(':', StringComparison.Ordinal))
        {
            throw StateException.Invalid($"Deregistering needs a revision: '{reference}:<revision>'.");
        }

        return kernel.CommitCatalogAsync((tx, catalog) =>
        {
            var record = catalog.Resolve(reference) ?? throw StateException.NotFound($"Task definition '{reference}' not found.");
            if (record.IsActive)
            {
                record.SetStatus(Statuses.Inactive, tx.Now);
                tx.Save(record);
            }

            return record;
        });
    }

    private static bool MatchesStatus(string actual, string wanted) => wanted switch
    {
        "ALL" => true,
        "" or null => actual == Statuses.Active,
        _ => actual == wanted,
    };
}
