using System.Globalization;
using Berth.Core.Images;
using Berth.Registry.Access;
using Berth.Registry.Errors;
using Berth.Registry.Http;
using Berth.Registry.Repositories;
using Berth.Registry.Routing;
using Berth.Registry.Storage;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace Berth.Registry.Uploads;

/// <summary><c>/v2/&lt;name&gt;/blobs/uploads/[id]</c>: POST, PATCH, PUT, GET, DELETE.</summary>
internal sealed class UploadEndpoints(UploadManager uploads, RegistryStore store, RepositoryCatalog repositories, IRegistryAccessPolicy access, IOptions<RegistryOptions> options)
{
    // How many repositories linking a blob a mount without 'from' tries before it gives up and starts an upload.
    private const int MountCandidates = 100;

    private readonly int _maxUploadsPerClient = options.Value.MaxUploadsPerClient;
    private readonly bool _automaticContentDiscovery = options.Value.AutomaticContentDiscovery;

    public async Task PostAsync(HttpContext context, RegistryRoute route)
    {
        var name = route.Name.ToString();
        var query = context.Request.Query;
        var ct = context.RequestAborted;

        // ECR's create-on-push: a push into a repository that does not exist needs a template (or the option) that
        // lets it create one. Checked when the push starts, before any byte is taken.
        await repositories.EnsureForPushAsync(name, ct);

        var mount = query["mount"].ToString();
        if (mount.Length > 0)
        {
            if (!Digest.TryParse(mount, out var mountDigest))
            {
                throw RegistryException.DigestMalformed(mount.AsMemory());
            }

            var from = query["from"].ToString();
            if (from.Length > 0 && !RepositoryName.IsValid(from))
            {
                throw RegistryException.NameInvalid($"invalid 'from' repository '{from}'");
            }

            if (await TryMountAsync(context, name, mountDigest.ToString(), from))
            {
                return;
            }

            // OCI spec: when the mount cannot be done the registry starts a normal upload session instead (202).
        }

        var digestParameter = query["digest"].ToString();
        if (digestParameter.Length > 0)
        {
            // Monolithic upload: POST ?digest= with the whole blob as the body.
            var digest = ParseDigest(digestParameter);
            var session = await uploads.StartAsync(name, digest.Algorithm, resumable: false, ct);
            try
            {
                await uploads.AppendAsync(session, session.Cursor!, context.Request.BodyReader, ct);
                await uploads.CompleteAsync(session, session.Cursor!, digest, ct);
            }
            catch (Exception) when (!session.Closed)
            {
                await uploads.CancelAsync(session, CancellationToken.None);
                throw;
            }

            Created(context, name, digest.ToString());
            return;
        }

        var algorithm = query["digest-algorithm"].ToString();
        if (algorithm.Length == 0)
        {
            algorithm = Digest.Sha256;
        }
        else if (!Digest.IsSupportedAlgorithm(algorithm))
        {
            throw new RegistryException(
                StatusCodes.Status400BadRequest, ErrorCodes.DigestInvalid, "unsupported digest algorithm", $"'{algorithm}' (supported: sha256, sha512)");
        }

        var started = await uploads.StartAsync(name, algorithm, resumable: true, ct, access.ClientKey(context), _maxUploadsPerClient);
        Accepted(context, StatusCodes.Status202Accepted, name, started, 0);
    }

    public async Task PatchAsync(HttpContext context, RegistryRoute route)
    {
        var name = route.Name.ToString();
        var session = uploads.Get(route.Name.Span, route.Argument.ToString());
        var cursor = await uploads.EnterAsync(session, context.RequestAborted);
        try
        {
            CheckContentRange(context, name, session, cursor);
            try
            {
                await uploads.AppendAsync(session, cursor, context.Request.BodyReader, context.RequestAborted);
            }
            catch (BadHttpRequestException exception)
            {
                throw RegistryException.UploadInvalid($"the request body ended early ({exception.Message}); resume at the offset the status endpoint reports");
            }

            Accepted(context, StatusCodes.Status202Accepted, name, session, cursor.Offset);
        }
        finally
        {
            session.Gate.Release();
        }
    }

    public async Task PutAsync(HttpContext context, RegistryRoute route)
    {
        var name = route.Name.ToString();
        var digestParameter = context.Request.Query["digest"].ToString();
        if (digestParameter.Length == 0)
        {
            throw new RegistryException(StatusCodes.Status400BadRequest, ErrorCodes.DigestInvalid, "digest missing", "PUT of an upload needs ?digest=");
        }

        var digest = ParseDigest(digestParameter);
        var session = uploads.Get(route.Name.Span, route.Argument.ToString());
        var cursor = await uploads.EnterAsync(session, context.RequestAborted);
        try
        {
            if (context.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody == true)
            {
                // The last chunk may come with the PUT.
                CheckContentRange(context, name, session, cursor);
                await uploads.AppendAsync(session, cursor, context.Request.BodyReader, context.RequestAborted);
            }

            await uploads.CompleteAsync(session, cursor, digest, context.RequestAborted);
            Created(context, name, digest.ToString());
        }
        finally
        {
            session.Gate.Release();
        }
    }

    public async Task GetStatusAsync(HttpContext context, RegistryRoute route)
    {
        var session = uploads.Get(route.Name.Span, route.Argument.ToString());
        var cursor = await uploads.EnterAsync(session, context.RequestAborted);
        try
        {
            Accepted(context, StatusCodes.Status204NoContent, route.Name.ToString(), session, cursor.Offset);
        }
        finally
        {
            session.Gate.Release();
        }
    }

    public async Task DeleteAsync(HttpContext context, RegistryRoute route)
    {
        var session = uploads.Get(route.Name.Span, route.Argument.ToString());
        await session.Gate.WaitAsync(context.RequestAborted);
        try
        {
            if (session.Closed)
            {
                throw RegistryException.UploadUnknown(session.Id);
            }

            await uploads.CancelAsync(session, CancellationToken.None);
        }
        finally
        {
            session.Gate.Release();
        }

        context.Response.StatusCode = StatusCodes.Status204NoContent;
    }

    private async Task<bool> TryMountAsync(HttpContext context, string name, string digest, string from)
    {
        if (from.Length > 0)
        {
            // The caller must be allowed to read the source repository (the auth seam decides; the dispatcher has
            // already challenged a caller that may read it but whose token does not say so).
            if (await access.CheckAsync(context, from.AsMemory(), RegistryAction.Pull) != AccessDecision.Allow
                || await store.GetLinkedBlobAsync(from, digest, context.RequestAborted) is not { } blob)
            {
                return false;
            }

            await LinkAsync(blob);
            return true;
        }

        if (!_automaticContentDiscovery)
        {
            return false;
        }

        // Mount without 'from' (OCI 1.1, automatic content discovery): allowed when some repository the caller's
        // account may pull links the blob. The account, not the token: a client that does not know where the blob is
        // cannot have asked for that repository's scope. The database says which repositories link it (a bounded
        // number are tried: not a scan of the registry).
        foreach (var repository in await store.ListRepositoriesLinkingAsync(digest, MountCandidates, context.RequestAborted))
        {
            if (await access.MayPullAsync(context, repository.AsMemory())
                && await store.GetLinkedBlobAsync(repository, digest, context.RequestAborted) is { } blob)
            {
                await LinkAsync(blob);
                return true;
            }
        }

        return false;

        async Task LinkAsync(BlobInfo blob)
        {
            await store.LinkBlobAsync(name, blob.Digest, blob.Size, uploadId: null, context.RequestAborted);
            Created(context, name, blob.Digest);
        }
    }

    // OCI spec: chunks must arrive in order; a chunk that does not start where the upload ends gets 416 with the
    // current Range, which tells the client where to resume.
    private static void CheckContentRange(HttpContext context, string name, UploadSession session, UploadCursor cursor)
    {
        var header = context.Request.Headers.ContentRange.ToString();
        if (header.Length == 0)
        {
            return;
        }

        var range = header.StartsWith("bytes ", StringComparison.Ordinal) ? header.AsSpan(6) : header.AsSpan();
        if (range.StartsWith("bytes=", StringComparison.Ordinal))
        {
            range = range[6..];
        }

        // Accept the RFC 9110 spelling too ("bytes 0-99/100"): the total after '/' is not needed.
        var slash = range.IndexOf('/');
        if (slash >= 0)
        {
            range = range[..slash];
        }

        var dash = range.IndexOf('-');
        if (dash <= 0
            || !long.TryParse(range[..dash], NumberStyles.None, CultureInfo.InvariantCulture, out var start)
            || !long.TryParse(range[(dash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var end)
            || end < start)
        {
            throw new RegistryException(StatusCodes.Status416RangeNotSatisfiable, ErrorCodes.BlobUploadInvalid, "invalid content range", header)
            {
                Headers = StatusHeaders(context, name, session, cursor.Offset),
            };
        }

        if (start != cursor.Offset)
        {
            throw new RegistryException(
                StatusCodes.Status416RangeNotSatisfiable,
                ErrorCodes.BlobUploadInvalid,
                "chunk out of order",
                $"chunk starts at {start}, upload is at {cursor.Offset}")
            {
                Headers = StatusHeaders(context, name, session, cursor.Offset),
            };
        }

        if (context.Request.ContentLength is { } length && length != end - start + 1)
        {
            throw RegistryException.UploadInvalid($"Content-Range {header} does not match Content-Length {length}");
        }
    }

    private static Digest ParseDigest(string value) =>
        Digest.TryParse(value, out var digest) ? digest : throw RegistryException.DigestMalformed(value.AsMemory());

    private static void Created(HttpContext context, string name, string digest)
    {
        var response = context.Response;
        response.StatusCode = StatusCodes.Status201Created;
        response.Headers.Location = RegistryHeaders.AbsoluteUrl(context.Request, $"/v2/{name}/blobs/{digest}");
        response.Headers[RegistryHeaders.ContentDigest] = digest;
        response.ContentLength = 0;
    }

    private static void Accepted(HttpContext context, int status, string name, UploadSession session, long offset)
    {
        var response = context.Response;
        response.StatusCode = status;
        foreach (var (header, value) in StatusHeaders(context, name, session, offset))
        {
            response.Headers[header] = value;
        }

        if (status != StatusCodes.Status204NoContent)
        {
            response.ContentLength = 0;
        }
    }

    private static KeyValuePair<string, string>[] StatusHeaders(HttpContext context, string name, UploadSession session, long offset) =>
    [
        // Always with a query string, so that clients that append "&digest=" build a valid URL.
        new("Location", RegistryHeaders.AbsoluteUrl(context.Request, $"/v2/{name}/blobs/uploads/{session.Id}?_state={session.Id}")),
        new("Range", UploadSession.RangeOf(offset)),
        new(RegistryHeaders.UploadUuid, session.Id),
    ];
}
