namespace Berth.Registry.Repositories;

/// <summary>A manifest a repository deletion removed, with the tags it had (for the in-memory index).</summary>
internal sealed record RemovedManifest(string Digest, IReadOnlyList<string> Tags);

/// <summary>
/// Repositories as resources: their settings, the creation templates, and creating and deleting them explicitly.
/// Every write is one transaction; the caller (<see cref="RepositoryCatalog"/>) holds the registry's write lock, so the
/// in-memory index follows the database.
/// </summary>
internal interface IRepositoryMetadata
{
    /// <summary>Settings of every repository whose settings are not the defaults, by name.</summary>
    Task<IReadOnlyDictionary<string, RepositorySettings>> LoadSettingsAsync(CancellationToken cancellationToken);

    Task<IReadOnlyList<CreationTemplate>> ListTemplatesAsync(CancellationToken cancellationToken);

    /// <summary>Creates or replaces the template with <see cref="CreationTemplate.Prefix"/>.</summary>
    Task PutTemplateAsync(CreationTemplate template, CancellationToken cancellationToken);

    Task<bool> DeleteTemplateAsync(string prefix, CancellationToken cancellationToken);

    /// <summary>Creates the repository with its settings; null when it exists already.</summary>
    Task<long?> CreateRepositoryAsync(string name, RepositorySettings settings, CancellationToken cancellationToken);

    Task<RepositoryRecord?> GetRepositoryAsync(string name, CancellationToken cancellationToken);

    /// <summary>Repositories after <paramref name="last"/> in ordinal order, at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<RepositoryRecord>> ListRepositoriesAsync(string? last, int limit, CancellationToken cancellationToken);

    /// <summary>Replaces the repository's settings; false when there is no such repository.</summary>
    Task<bool> UpdateSettingsAsync(string name, RepositorySettings settings, CancellationToken cancellationToken);

    /// <summary>The tags that point at manifest <paramref name="digest"/> of the repository.</summary>
    Task<IReadOnlyList<string>> TagsOfAsync(string repository, string digest, CancellationToken cancellationToken);

    /// <summary>
    /// Deletes the repository, its tags, manifests and blob links (the blobs go to the garbage collector's review
    /// queue). Without <paramref name="force"/> a repository that holds a manifest is not deleted.
    /// </summary>
    Task<(RepositoryDeletion Result, long Id, IReadOnlyList<RemovedManifest> Manifests)> DeleteRepositoryAsync(string name, bool force, CancellationToken cancellationToken);
}
