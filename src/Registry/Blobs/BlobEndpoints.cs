using System.Globalization;
using Berth.Core.Images;
using Berth.Registry.Errors;
using Berth.Registry.Http;
using Berth.Registry.Notifications;
using Berth.Registry.Routing;
using Berth.Registry.Storage;
using Microsoft.Net.Http.Headers;

namespace Berth.Registry.Blobs;

/// <summary><c>GET|HEAD|DELETE /v2/&lt;name&gt;/blobs/&lt;digest&gt;</c>.</summary>
internal sealed class BlobEndpoints(RegistryStore store, IBlobStore blobs, PullEvents pullEvents)
{
    /// <summary>HEAD is the hottest path of a push (docker checks every layer): a cached blob costs no allocation and no I/O.</summary>
    public async Task HeadAsync(HttpContext context, RegistryRoute route)
    {
        var blob = await FindAsync(context, route);
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        SetHeaders(response, blob);
        response.ContentLength = blob.Size;
    }

    public async Task GetAsync(HttpContext context, RegistryRoute route)
    {
        var blob = await FindAsync(context, route);
        await SendAsync(context, blob);
        if (pullEvents.Enabled && context.Response.StatusCode is StatusCodes.Status200OK or StatusCodes.Status206PartialContent)
        {
            // After the body: a GET that failed to send (or a 304 to a conditional GET) pulled nothing.
            pullEvents.Blob(context, route.Name.ToString(), blob.Digest, blob.Size);
        }
    }

    private Task SendAsync(HttpContext context, BlobInfo blob)
    {
        SetHeaders(context.Response, blob);
        if (!blobs.TryGetLocalPath(blob.Digest, out var path) || !File.Exists(path))
        {
            // Metadata says yes, the disk says no (someone removed the file): a 404, not a 500.
            throw RegistryException.BlobUnknown(blob.Digest);
        }

        var request = context.Request.Headers;
        if (HttpMethods.IsGet(context.Request.Method) && request.Range.Count == 0 && request.IfNoneMatch.Count == 0
            && request.IfMatch.Count == 0 && request.IfModifiedSince.Count == 0 && request.IfUnmodifiedSince.Count == 0)
        {
            // What docker pull sends: the whole blob, no conditions.
            return SendWholeAsync(context, path);
        }

        RefuseUnsatisfiableRange(context.Request, blob);

        // Served from the file with range support (206 + Content-Range): the body is never buffered in memory.
        return Results.File(
            path,
            contentType: "application/octet-stream",
            entityTag: new EntityTagHeaderValue(blob.ETag),
            enableRangeProcessing: true).ExecuteAsync(context);
    }

    // Kestrel has no sendfile(2): its file path reads into a 64 KiB buffer and copies that into the response pipe.
    // Reading straight into the pipe's memory saves one of the three copies of every byte; reads of up to 256 KiB
    // with a 512 KiB response buffer keep the disk read and the socket send overlapping (BodyBuffering).
    private static async Task SendWholeAsync(HttpContext context, string path)
    {
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, FileOptions.SequentialScan);
        var length = RandomAccess.GetLength(handle);
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentLength = length;
        var writer = response.BodyWriter;
        var ct = context.RequestAborted;
        long offset = 0;
        while (offset < length)
        {
            // The hint never exceeds what is left: a small blob takes a 4 KiB block of Kestrel's pool, not a large array.
            var memory = writer.GetMemory((int)Math.Min(BodyBuffering.DownloadRead, length - offset));
            var want = (int)Math.Min(memory.Length, length - offset);
            var read = await RandomAccess.ReadAsync(handle, memory[..want], offset, ct);
            if (read == 0)
            {
                // Blob files are immutable; a shorter file is damage, and the client must not take a short body.
                context.Abort();
                return;
            }

            writer.Advance(read);
            offset += read;
            var flushed = await writer.FlushAsync(ct);
            if (flushed.IsCanceled || flushed.IsCompleted)
            {
                return;
            }
        }
    }

    public async Task DeleteAsync(HttpContext context, RegistryRoute route)
    {
        var blob = await FindAsync(context, route);
        await store.UnlinkBlobAsync(route.Name.ToString(), blob.Digest, context.RequestAborted);
        context.Response.StatusCode = StatusCodes.Status202Accepted;
        context.Response.ContentLength = 0;
    }

    /// <summary>
    /// A single byte range that cannot be served gets the spec's error body with its 416 (the file result would send an
    /// empty one, or ignore it): one that starts past the end, a zero-length suffix, any range of an empty blob, and a
    /// range whose last byte comes before its first (<c>bytes=500-0</c>: RFC 9110 calls it invalid and lets a server
    /// reject it; clients that resume a pull expect the 416). Ranges that are not byte ranges at all, or several of
    /// them, are left to the file result, which ignores them and sends the whole blob, as RFC 9110 allows.
    /// </summary>
    private static void RefuseUnsatisfiableRange(HttpRequest request, BlobInfo blob)
    {
        if (request.Headers.Range.Count != 1 || !TryParseSingleRange(request.Headers.Range[0], out var first, out var last))
        {
            return;
        }

        var unsatisfiable = first is { } from
            ? from >= blob.Size || last < from
            : last is 0 || blob.Size == 0;
        if (unsatisfiable)
        {
            throw new RegistryException(StatusCodes.Status416RangeNotSatisfiable, ErrorCodes.RangeInvalid, "requested range not satisfiable", $"the blob has {blob.Size} bytes")
            {
                Headers = [new("Content-Range", $"bytes */{blob.Size}")],
            };
        }
    }

    /// <summary>
    /// <c>bytes=first-last</c>, <c>bytes=first-</c> or <c>bytes=-suffix</c>, one range only. <paramref name="first"/>
    /// is null for a suffix range, <paramref name="last"/> null for an open one.
    /// </summary>
    private static bool TryParseSingleRange(string? header, out long? first, out long? last)
    {
        first = null;
        last = null;
        var value = header.AsSpan().Trim();
        const string Unit = "bytes=";
        if (!value.StartsWith(Unit, StringComparison.OrdinalIgnoreCase) || value.Contains(','))
        {
            return false;
        }

        value = value[Unit.Length..].Trim();
        var dash = value.IndexOf('-');
        if (dash < 0)
        {
            return false;
        }

        var start = value[..dash].Trim();
        var end = value[(dash + 1)..].Trim();
        if (start.IsEmpty && end.IsEmpty)
        {
            return false;
        }

        if (!start.IsEmpty)
        {
            if (!long.TryParse(start, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
            {
                return false;
            }

            first = parsed;
        }

        if (!end.IsEmpty)
        {
            if (!long.TryParse(end, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
            {
                return false;
            }

            last = parsed;
        }

        return true;
    }

    private async ValueTask<BlobInfo> FindAsync(HttpContext context, RegistryRoute route)
    {
        if (!Digest.IsValid(route.Argument.Span))
        {
            throw RegistryException.DigestMalformed(route.Argument);
        }

        return await store.GetLinkedBlobAsync(route.Name.Span, route.Argument.Span, context.RequestAborted)
            ?? throw RegistryException.BlobUnknown(route.Argument.ToString());
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
