using Berth.Core.Images;
using Berth.Registry.Errors;
using Berth.Registry.Http;
using Berth.Registry.Routing;
using Berth.Registry.Storage;
using Microsoft.Net.Http.Headers;

namespace Berth.Registry.Blobs;

/// <summary><c>GET|HEAD|DELETE /v2/&lt;name&gt;/blobs/&lt;digest&gt;</c>.</summary>
internal sealed class BlobEndpoints(RegistryStore store, IBlobStore blobs)
{
    /// <summary>HEAD is the hottest path of a push (docker checks every layer): no allocation, no I/O.</summary>
    public Task HeadAsync(HttpContext context, RegistryRoute route)
    {
        var blob = Find(route);
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        SetHeaders(response, blob);
        response.ContentLength = blob.Size;
        return Task.CompletedTask;
    }

    public Task GetAsync(HttpContext context, RegistryRoute route)
    {
        var blob = Find(route);
        SetHeaders(context.Response, blob);
        if (!blobs.TryGetLocalPath(blob.Digest, out var path) || !File.Exists(path))
        {
            // Metadata says yes, the disk says no (someone removed the file): a 404, not a 500.
            throw RegistryException.BlobUnknown(blob.Digest);
        }

        // Served from the file with sendfile semantics and range support (206 + Content-Range, 416 on a bad
        // range): the body is never buffered in memory.
        return Results.File(
            path,
            contentType: "application/octet-stream",
            entityTag: new EntityTagHeaderValue(blob.ETag),
            enableRangeProcessing: true).ExecuteAsync(context);
    }

    public async Task DeleteAsync(HttpContext context, RegistryRoute route)
    {
        var blob = Find(route);
        store.TryGetRepository(route.Name.Span, out var repository);
        await store.UnlinkBlobAsync(repository, blob.Digest, context.RequestAborted);
        context.Response.StatusCode = StatusCodes.Status202Accepted;
        context.Response.ContentLength = 0;
    }

    private BlobInfo Find(RegistryRoute route)
    {
        var digest = route.Argument.Span;
        if (!Digest.IsValid(digest))
        {
            throw RegistryException.DigestMalformed(route.Argument);
        }

        if (!store.TryGetRepository(route.Name.Span, out var repository) || !store.TryGetLinkedBlob(repository, digest, out var blob))
        {
            throw RegistryException.BlobUnknown(route.Argument.ToString());
        }

        return blob;
    }

    private static void SetHeaders(HttpResponse response, BlobInfo blob)
    {
        var headers = response.Headers;
        headers.ContentType = RegistryHeaders.OctetStream;
        headers[RegistryHeaders.ContentDigest] = blob.Digest;
        headers.ETag = blob.ETag;
        headers.AcceptRanges = RegistryHeaders.Bytes;
    }
}
