namespace Berth.Scheduler.Kernel;

/// <summary>
/// Every task-definition revision by family. Global (ECS task definitions belong to no cluster), with its own lock:
/// cluster transactions resolve revisions while holding their cluster's lock, so this lock is only ever taken last and
/// never held while taking another. Changed only through <see cref="StateKernel.CommitCatalogAsync{T}"/>.
/// </summary>
internal sealed class TaskDefinitionCatalog
{
    private readonly Dictionary<string, List<TaskDefinitionRecord>> _families = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TaskDefinitionRecord> _byArn = new(StringComparer.Ordinal);

    internal Lock Gate { get; } = new();

    /// <summary>Resolves <c>family</c> (latest ACTIVE), <c>family:revision</c> or an ARN; null when there is none.</summary>
    public TaskDefinitionRecord? Resolve(string reference)
    {
        var text = reference.StartsWith("arn:", StringComparison.Ordinal) ? Arns.Id(reference) : reference;
        var colon = text.LastIndexOf(':');
        lock (Gate)
        {
            if (colon < 0)
            {
                return _families.TryGetValue(text, out var all) ? all.LastOrDefault(d => d.IsActive) : null;
            }

            if (!int.TryParse(text.AsSpan(colon + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var revision))
            {
                return null;
            }

            return _families.TryGetValue(text[..colon], out var revisions) ? revisions.Find(d => d.Revision == revision) : null;
        }
    }

    /// <summary>The revision with this ARN, or null.</summary>
    public TaskDefinitionRecord? Find(string arn)
    {
        lock (Gate)
        {
            return _byArn.GetValueOrDefault(arn);
        }
    }

    /// <summary>Reads every family's revisions (in revision order) under the lock.</summary>
    public T Read<T>(Func<IReadOnlyDictionary<string, List<TaskDefinitionRecord>>, T> read)
    {
        lock (Gate)
        {
            return read(_families);
        }
    }

    /// <summary>The next revision of a family. Under the lock (a catalog transaction).</summary>
    internal int NextRevision(string family) =>
        _families.TryGetValue(family, out var revisions) && revisions.Count > 0 ? revisions[^1].Revision + 1 : 1;

    /// <summary>Adds a revision. Under the lock (a catalog transaction, or the load).</summary>
    internal void Add(TaskDefinitionRecord record)
    {
        if (!_families.TryGetValue(record.Family, out var revisions))
        {
            _families[record.Family] = revisions = [];
        }

        revisions.Add(record);
        _byArn[record.Arn] = record;
    }
}
