using Berth.Registry.Manifests;
using Berth.Registry.Storage;
using Berth.Registry.Storage.Sqlite;

namespace Berth.Registry.Replication;

/// <summary>The source no longer has what a copy needs (the image was deleted after its push): retrying cannot help.</summary>
internal sealed class SourceImageGoneException(string message) : Exception(message);

/// <summary>
/// Copies one image from this registry to a destination over the OCI distribution API: the blobs the destination
/// lacks (HEAD first), then the manifests bottom-up (an index's children, by digest, before the index), then the
/// image under each of its pushed tags (by digest when it was pushed untagged). Every manifest goes byte for byte
/// with its media type, so digests are the same at both ends.
/// </summary>
internal sealed class ImageCopier(SqliteMetadataStore metadata, IBlobStore blobs)
{
    public async Task CopyAsync(HttpClient http, ReplicationTarget target, ReplicationJob job, CancellationToken cancellationToken)
    {
        var destination = new DestinationClient(http, target, job.Repository);
        var (content, mediaType) = Load(job.Repository, job.Digest)
            ?? throw new SourceImageGoneException($"{job.Repository}@{job.Digest} is no longer in this registry");
        await CopyReferencesAsync(destination, job.Repository, content, mediaType, cancellationToken);
        if (job.Tags.Count == 0)
        {
            await destination.PutManifestAsync(job.Digest, content, mediaType, cancellationToken);
        }

        foreach (var tag in job.Tags)
        {
            await destination.PutManifestAsync(tag, content, mediaType, cancellationToken);
        }
    }

    private async Task CopyReferencesAsync(DestinationClient destination, string repository, byte[] content, string mediaType, CancellationToken cancellationToken)
    {
        var parsed = ManifestParser.Parse(content, mediaType);
        foreach (var child in parsed.Manifests)
        {
            var (childContent, childType) = Load(repository, child.Digest)
                ?? throw new SourceImageGoneException($"{repository}@{child.Digest}, a child of the index, is not in this registry");
            await CopyReferencesAsync(destination, repository, childContent, childType, cancellationToken);
            await destination.PutManifestAsync(child.Digest, childContent, childType, cancellationToken);
        }

        var references = parsed.Config is { } config ? parsed.Layers.Prepend(config) : parsed.Layers;
        foreach (var blob in references)
        {
            if (await destination.HasBlobAsync(blob.Digest, cancellationToken))
            {
                continue;
            }

            // A foreign layer (with urls) that was never pushed here is fetched by clients from its urls: nothing to copy.
            if (blob.HasUrls)
            {
                await using var local = await OpenOrNullAsync(blob.Digest, cancellationToken);
                if (local is null)
                {
                    continue;
                }
            }

            await destination.PushBlobAsync(blob.Digest, blob.Size, async ct =>
                await OpenOrNullAsync(blob.Digest, ct) ?? throw new SourceImageGoneException($"blob {blob.Digest} of {repository} is no longer in this registry"),
                cancellationToken);
        }
    }

    private async Task<Stream?> OpenOrNullAsync(string digest, CancellationToken cancellationToken) =>
        await blobs.OpenReadAsync(digest, cancellationToken);

    private (byte[] Content, string MediaType)? Load(string repository, string digest) => metadata.Read(reader =>
    {
        var command = reader.Command(
            """
            SELECT m."Content", m."MediaType" FROM "Manifests" m JOIN "Repositories" r ON r."Id" = m."RepositoryId"
            WHERE r."Name" = $repository AND m."Digest" = $digest;
            """,
            "$repository",
            "$digest");
        command.Parameters[0].Value = repository;
        command.Parameters[1].Value = digest;
        using var rows = command.ExecuteReader();
        return rows.Read() ? ((byte[])rows.GetValue(0), rows.GetString(1)) : ((byte[], string)?)null;
    });
}
