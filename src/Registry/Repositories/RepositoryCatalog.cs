using System.Collections.Concurrent;
using Berth.Core.Images;
using Berth.Registry.Errors;
using Berth.Registry.Storage;
using Microsoft.Extensions.Options;

namespace Berth.Registry.Repositories;

/// <summary>
/// Repositories as resources, and the rules their settings impose on the registry wire: immutable tags and
/// create-on-push. The settings of every repository that has any, and the creation templates, are in memory (a few
/// bytes each, loaded at start), so the checks on a push cost a dictionary lookup; pulls never come here. Writes go to
/// the database under the registry's write lock, then into memory, as <see cref="RegistryStore"/> does.
/// </summary>
internal sealed class RepositoryCatalog(RegistryStore store, IRepositoryMetadata metadata, IOptions<RepositoryOptions> options)
{
    private readonly ConcurrentDictionary<string, RepositorySettings> _settings = new(StringComparer.Ordinal);
    private volatile IReadOnlyList<CreationTemplate> _templates = [];

    public async Task LoadAsync(CancellationToken cancellationToken)
    {
        foreach (var (name, settings) in await metadata.LoadSettingsAsync(cancellationToken))
        {
            _settings[name] = settings;
        }

        _templates = await metadata.ListTemplatesAsync(cancellationToken);
    }

    public RepositorySettings SettingsOf(string repository) =>
        _settings.TryGetValue(repository, out var settings) ? settings : RepositorySettings.Default;

    public IReadOnlyList<CreationTemplate> Templates => _templates;

    /// <summary>The template a new repository of that name gets: the longest matching prefix, else ROOT, else none.</summary>
    public CreationTemplate? TemplateFor(string repository) =>
        _templates.Where(t => t.Prefix != CreationTemplate.Root && t.AppliesTo(repository)).MaxBy(t => t.Prefix.Length)
        ?? _templates.FirstOrDefault(t => t.Prefix == CreationTemplate.Root);

    /// <summary>
    /// Before a push writes anything to <paramref name="repository"/>: when it does not exist, creates it with its
    /// template's settings if the template (or, without one, <see cref="RepositoryOptions.CreateOnPush"/>) lets a push
    /// create it, else refuses as ECR does. Costs an index lookup when the repository exists.
    /// </summary>
    public async ValueTask EnsureForPushAsync(string repository, CancellationToken cancellationToken)
    {
        if (store.TryGetRepository(repository, out _))
        {
            return;
        }

        var template = TemplateFor(repository);
        if (!(template?.CreateOnPush ?? options.Value.CreateOnPush))
        {
            throw new RegistryException(
                StatusCodes.Status404NotFound,
                ErrorCodes.NameUnknown,
                $"The repository with name '{repository}' does not exist in the registry",
                "no repository creation template lets a push create it; create it first (berth registry repo create)");
        }

        // Without a template the push creates the repository as it always has (with the defaults), in its own
        // transaction; a template's settings are written first, so no tag is pushed before the settings hold.
        if (template is not null)
        {
            await CreateAsync(repository, template.Settings, cancellationToken);
        }
    }

    /// <summary>Creates the repository; false when it exists already.</summary>
    public async Task<bool> CreateAsync(string repository, RepositorySettings settings, CancellationToken cancellationToken) =>
        await store.ExclusiveAsync(
            async () =>
            {
                if (await metadata.CreateRepositoryAsync(repository, settings, CancellationToken.None) is not { } id)
                {
                    return false;
                }

                Remember(repository, settings);
                store.IndexRepository(id, repository);
                return true;
            },
            cancellationToken);

    public async Task<bool> UpdateAsync(string repository, RepositorySettings settings, CancellationToken cancellationToken) =>
        await store.ExclusiveAsync(
            async () =>
            {
                if (!await metadata.UpdateSettingsAsync(repository, settings, CancellationToken.None))
                {
                    return false;
                }

                Remember(repository, settings);
                return true;
            },
            cancellationToken);

    public async Task<RepositoryDeletion> DeleteAsync(string repository, bool force, CancellationToken cancellationToken) =>
        await store.ExclusiveAsync(
            async () =>
            {
                var (result, _, manifests) = await metadata.DeleteRepositoryAsync(repository, force, CancellationToken.None);
                if (result == RepositoryDeletion.Deleted)
                {
                    store.ForgetRepository(repository, manifests);
                    _settings.TryRemove(repository, out _);
                }

                return result;
            },
            cancellationToken);

    public async Task PutTemplateAsync(CreationTemplate template, CancellationToken cancellationToken)
    {
        await metadata.PutTemplateAsync(template, cancellationToken);
        _templates = await metadata.ListTemplatesAsync(cancellationToken);
    }

    public async Task<bool> DeleteTemplateAsync(string prefix, CancellationToken cancellationToken)
    {
        var deleted = await metadata.DeleteTemplateAsync(prefix, cancellationToken);
        _templates = await metadata.ListTemplatesAsync(cancellationToken);
        return deleted;
    }

    /// <summary>
    /// ECR's rule for a push with tags, run under the write lock with the index as it is: a tag that exists, is
    /// immutable, and would move to another manifest is refused (pushing the same manifest again is fine).
    /// </summary>
    public void CheckTagsMayMove(string repository, IReadOnlyList<string> tags, string digest)
    {
        var settings = SettingsOf(repository);
        if (settings.Mutability == TagMutability.Mutable || !store.TryGetRepository(repository, out var id))
        {
            return;
        }

        foreach (var tag in tags)
        {
            if (settings.IsImmutable(tag) && store.TryGetManifest(id, tag, out var current) && current.ToString() != digest)
            {
                // What ECR answers docker with: the error names the tag and says why.
                throw new RegistryException(
                    StatusCodes.Status400BadRequest,
                    ErrorCodes.TagInvalid,
                    $"The image tag '{tag}' already exists in the '{repository}' repository and cannot be overwritten because the tag is immutable.",
                    "ImageTagAlreadyExistsException");
            }
        }
    }

    /// <summary>Refuses to delete an immutable tag.</summary>
    public void CheckTagMayBeDeleted(string repository, string tag)
    {
        if (SettingsOf(repository).IsImmutable(tag))
        {
            throw Immutable(repository, tag);
        }
    }

    /// <summary>Refuses to delete a manifest that an immutable tag points at (it would take the tag with it).</summary>
    public async Task CheckManifestMayBeDeletedAsync(string repository, string digest, CancellationToken cancellationToken)
    {
        var settings = SettingsOf(repository);
        if (settings.Mutability == TagMutability.Mutable)
        {
            return;
        }

        if ((await metadata.TagsOfAsync(repository, digest, cancellationToken)).FirstOrDefault(settings.IsImmutable) is { } tag)
        {
            throw Immutable(repository, tag);
        }
    }

    public static bool IsValidName([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] string? name) => RepositoryName.IsValid(name);

    private void Remember(string repository, RepositorySettings settings)
    {
        if (settings.IsDefault)
        {
            _settings.TryRemove(repository, out _);
        }
        else
        {
            _settings[repository] = settings;
        }
    }

    private static RegistryException Immutable(string repository, string tag) =>
        new(
            StatusCodes.Status403Forbidden,
            ErrorCodes.Denied,
            $"The image tag '{tag}' in the '{repository}' repository is immutable and cannot be deleted.",
            "ImageTagAlreadyExistsException");
}
