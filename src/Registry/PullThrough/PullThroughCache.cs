using System.Buffers;
using System.Collections.Concurrent;
using System.IO.Pipelines;
using Berth.Core.Images;
using Berth.Registry.Errors;
using Berth.Registry.Http;
using Berth.Registry.Manifests;
using Berth.Registry.Remote;
using Berth.Registry.Repositories;
using Berth.Registry.Routing;
using Berth.Registry.Storage;
using Berth.Registry.Uploads;
using Microsoft.Extensions.Options;

namespace Berth.Registry.PullThrough;

/// <summary>
/// ECR's pull-through cache on the registry wire. Before a pull of a repository under a rule's prefix is answered the
/// usual way, this makes sure the registry has what is asked for: a manifest missing here is fetched upstream and
/// stored (the repository created first, from its creation template); a cached tag older than the TTL is checked
/// upstream with a HEAD and fetched again only when it moved; a blob missing here is fetched upstream while it
/// streams to the client and is stored only when its digest verifies (the last read is held back until then, so a
/// client never receives all the bytes of a blob that failed). Concurrent pulls of one blob share one upstream
/// fetch. When the upstream is unreachable or errs, whatever is cached is served. Pushes are refused.
/// </summary>
internal sealed partial class PullThroughCache(
    PullThroughRules rules,
    PullThroughStore rulesStore,
    RegistryStore store,
    RepositoryCatalog repositories,
    UploadManager uploads,
    IBlobStore blobs,
    TimeProvider time,
    IOptions<PullThroughOptions> options,
    IOptions<RegistryOptions> registryOptions,
    ILogger<PullThroughCache> logger) : IDisposable
{
    private readonly PullThroughOptions _options = options.Value;
    private readonly HttpClient _http = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }) { Timeout = Timeout.InfiniteTimeSpan };

    // One session per (rule, upstream repository): its bearer token is reused by the pulls that follow.
    private readonly ConcurrentDictionary<string, RemoteRegistrySession> _sessions = new(StringComparer.Ordinal);

    // When each cached tag was last found current upstream ("repository:tag"). In memory: after a restart every tag is
    // checked once more on its first pull, which costs one HEAD upstream (and nothing when the upstream is down).
    private readonly ConcurrentDictionary<string, DateTimeOffset> _checked = new(StringComparer.Ordinal);

    // Blob fetches in flight, by digest: a second pull of the same blob waits for the first fetch instead of its own.
    private readonly ConcurrentDictionary<string, Task> _fetches = new(StringComparer.Ordinal);
    private int _waiting;

    /// <summary>Pulls waiting for another pull's fetch of the same blob now (a test watches it to know the pulls overlap).</summary>
    public int PullsWaiting => Volatile.Read(ref _waiting);

    public void Dispose() => _http.Dispose();

    /// <summary>Whether <paramref name="repository"/> is under a rule's prefix (one volatile read when there is no rule).</summary>
    public bool Covers(ReadOnlySpan<char> repository) => rules.TryMatch(repository, out _);

    /// <summary>The rules changed: forget upstream sessions of rules that are gone or were replaced.</summary>
    public void RulesChanged() => _sessions.Clear();

    /// <summary>A push into a cached repository, refused as ECR refuses it.</summary>
    public RegistryException PushRefused(ReadOnlySpan<char> repository)
    {
        rules.TryMatch(repository, out var rule);
        return new RegistryException(
            StatusCodes.Status403Forbidden,
            ErrorCodes.Denied,
            $"The repository with name '{repository}' is a pull through cache repository of {rule?.UpstreamUrl}: images cannot be pushed to it",
            $"pull through cache rule '{rule?.Prefix}'");
    }

    /// <summary>Before a manifest GET or HEAD of a covered repository: makes sure the reference is here and, for a tag, current.</summary>
    public async Task PrepareManifestAsync(RegistryRoute route, CancellationToken cancellationToken)
    {
        var reference = route.Argument.ToString();
        var byDigest = reference.Contains(':', StringComparison.Ordinal);
        Digest expected = default;
        if ((byDigest && !Digest.TryParse(reference, out expected)) || (!byDigest && !TagName.IsValid(reference)) || Match(route.Name.Span) is not { } match)
        {
            // The manifest endpoint answers a malformed reference as it always does.
            return;
        }

        var local = store.TryGetRepository(match.Repository, out var id) && store.TryGetManifest(id, reference, out var manifest) ? manifest.ToString() : null;
        if (byDigest)
        {
            if (local is null)
            {
                await FetchManifestAsync(match, reference, tag: null, expected, cancellationToken);
            }

            return;
        }

        var key = match.Repository + ":" + reference;
        var now = time.GetUtcNow();
        if (local is not null && _checked.TryGetValue(key, out var at) && now - at < _options.TagTtl)
        {
            return;
        }

        try
        {
            if (local is not null)
            {
                using var timeout = Deadline(cancellationToken);
                var upstream = await Upstream(match).HeadManifestDigestAsync(reference, timeout.Token);
                if (upstream is null || upstream == local)
                {
                    // Gone upstream: ECR keeps serving what it cached. Unchanged: nothing to fetch.
                    _checked[key] = now;
                    Log.TagChecked(logger, match.Repository, reference, upstream is null ? "gone upstream, the cached image stays" : "unchanged");
                    return;
                }

                Log.TagMoved(logger, match.Repository, reference, local, upstream.Length == 0 ? "(no digest header)" : upstream);
                expected = Digest.TryParse(upstream, out var moved) ? moved : default;
            }

            await FetchManifestAsync(match, reference, reference, expected, cancellationToken);
            _checked[key] = now;
        }
        catch (Exception e) when (local is not null && IsUpstreamFailure(e, cancellationToken))
        {
            // ECR: when the upstream cannot be reached, the cached image is served.
            Log.UpstreamDownServingCache(logger, match.Repository, reference, e.Message);
        }
    }

    /// <summary>
    /// Before a blob GET or HEAD of a covered repository. True when the blob was fetched and already sent (a GET that
    /// led the fetch); false when the caller serves it the usual way (it was here, or is now).
    /// </summary>
    public async Task<bool> ServeBlobAsync(HttpContext context, RegistryRoute route, bool head)
    {
        var ct = context.RequestAborted;
        if (!Digest.TryParse(route.Argument.ToString(), out var digest) || Match(route.Name.Span) is not { } match
            || await store.GetLinkedBlobAsync(route.Name.Span, route.Argument.Span, ct) is not null)
        {
            return false;
        }

        var key = digest.ToString();
        if (await LinkHeldBlobAsync(match.Repository, key))
        {
            return false;
        }

        var mine = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var running = _fetches.GetOrAdd(key, mine.Task);
        if (running != mine.Task)
        {
            Log.WaitingForFetch(logger, match.Repository, key);
            Interlocked.Increment(ref _waiting);
            try
            {
                await running.WaitAsync(ct);
            }
            catch (Exception) when (!ct.IsCancellationRequested)
            {
                // The other fetch failed (its client was told why); this pull tries on its own below.
            }
            finally
            {
                Interlocked.Decrement(ref _waiting);
            }

            if (await LinkHeldBlobAsync(match.Repository, key))
            {
                return false;
            }

            return await ServeBlobAsync(context, route, head);
        }

        try
        {
            var sent = await FetchBlobAsync(context, match, digest, head);
            mine.SetResult();
            return sent;
        }
        catch (Exception e)
        {
            mine.SetException(e);
            throw;
        }
        finally
        {
            _fetches.TryRemove(new KeyValuePair<string, Task>(key, mine.Task));
        }
    }

    private CacheMatch? Match(ReadOnlySpan<char> repository) =>
        rules.TryMatch(repository, out var rule) && rule.TryMap(repository, out var upstream)
            ? new CacheMatch(rule, repository.ToString(), upstream.ToString())
            : null;

    private UpstreamClient Upstream(CacheMatch match)
    {
        if (_sessions.Count > 4096)
        {
            _sessions.Clear();
        }

        var session = _sessions.GetOrAdd(
            match.Rule.Prefix + "\n" + match.UpstreamRepository,
            static (_, m) => new RemoteRegistrySession(
                m.Http, m.Match.Rule.UpstreamUrl, m.Match.Rule.UpstreamUrl.ToString(), m.Match.Rule.Username, m.Match.Rule.Password,
                $"repository:{m.Match.UpstreamRepository}:pull", message => new UpstreamException(message)),
            (Http: _http, Match: match));
        return new UpstreamClient(session, match.UpstreamRepository, registryOptions.Value.MaxManifestBytes);
    }

    private async Task FetchManifestAsync(CacheMatch match, string reference, string? tag, Digest expected, CancellationToken cancellationToken)
    {
        UpstreamManifest? fetched;
        try
        {
            using var timeout = Deadline(cancellationToken);
            fetched = await Upstream(match).GetManifestAsync(reference, timeout.Token);
        }
        catch (Exception e) when (IsUpstreamFailure(e, cancellationToken))
        {
            throw Unavailable(match, e.Message);
        }

        if (fetched is null)
        {
            throw new RegistryException(
                StatusCodes.Status404NotFound, ErrorCodes.ManifestUnknown, "manifest unknown", $"{match.UpstreamRepository}:{reference} is not in the upstream registry {match.Rule.UpstreamUrl}");
        }

        // A tag is verified against the digest the upstream gave for it (its HEAD, or this answer's header); a digest
        // against itself. Content that does not hash to it is never stored.
        if (expected.IsEmpty && fetched.Digest is { } header && Digest.TryParse(header, out var said))
        {
            expected = said;
        }

        var digest = Digest.Compute(fetched.Content, expected.IsEmpty ? Digest.Sha256 : expected.Algorithm);
        if (!expected.IsEmpty && digest != expected)
        {
            Log.DigestMismatch(logger, match.Repository, expected.ToString(), digest.ToString());
            throw Mismatch(match, $"manifest {reference}: the upstream said {expected}, its content is {digest}; nothing was stored");
        }

        ParsedManifest parsed;
        try
        {
            parsed = ManifestParser.Parse(fetched.Content, fetched.MediaType);
        }
        catch (RegistryException e)
        {
            throw Mismatch(match, $"manifest {reference} from the upstream is not one this registry can store: {e.Message}");
        }

        if (!store.TryGetRepository(match.Repository, out _))
        {
            // ECR creates a cached repository with the creation template that applies to it; create-on-push is about
            // pushes and does not matter here.
            await repositories.CreateAsync(match.Repository, repositories.TemplateFor(match.Repository)?.Settings ?? RepositorySettings.Default, cancellationToken);
        }

        // The blobs come later, on their own pulls: the manifest is stored without them (what a sparse manifest is), and
        // an index without its children, which are fetched when they are pulled.
        var blobReferences = (parsed.Config is { } config ? [config] : Array.Empty<Descriptor>())
            .Concat(parsed.Layers.Where(l => !MediaTypes.IsNonDistributable(l.MediaType)))
            .Select(d => d.Digest).Distinct(StringComparer.Ordinal).ToList();
        await store.PutManifestAsync(
            match.Repository,
            new NewManifest(digest.ToString(), parsed.MediaType, parsed.ArtifactType, parsed.Subject?.Digest, fetched.Content, blobReferences, [.. parsed.Manifests.Select(d => d.Digest)]),
            tag is null ? [] : [tag],
            static _ => { },
            CancellationToken.None);
        Log.ManifestCached(logger, match.Repository, reference, digest.ToString(), match.Rule.UpstreamUrl.ToString());
    }

    // A blob the registry holds already (pushed elsewhere, cached for another repository, fetched by a concurrent pull):
    // linked here without asking the upstream. Only verified bytes are ever in the blob store.
    private async Task<bool> LinkHeldBlobAsync(string repository, string digest)
    {
        long size;
        await using (var held = await blobs.OpenReadAsync(digest, CancellationToken.None))
        {
            if (held is null)
            {
                return false;
            }

            size = held.Length;
        }

        await store.LinkBlobAsync(repository, digest, size, null, CancellationToken.None);
        await ReferenceAsync(repository, digest);
        return true;
    }

    private Task<int> ReferenceAsync(string repository, string digest) =>
        store.ExclusiveAsync(() => rulesStore.ReferenceFetchedBlobAsync(repository, digest, CancellationToken.None), CancellationToken.None);

    // The fetch runs to its end even when its client goes away (the next pull and the waiting ones want the blob), so
    // it reads the upstream without the request's token; it stops when the upstream stops.
    private async Task<bool> FetchBlobAsync(HttpContext context, CacheMatch match, Digest digest, bool head)
    {
        var key = digest.ToString();
        HttpResponseMessage? upstream;
        try
        {
            using var timeout = Deadline(CancellationToken.None);
            upstream = await Upstream(match).GetBlobAsync(key, timeout.Token);
        }
        catch (Exception e) when (IsUpstreamFailure(e, CancellationToken.None))
        {
            throw Unavailable(match, e.Message);
        }

        using var response = upstream ?? throw new RegistryException(
            StatusCodes.Status404NotFound, ErrorCodes.BlobUnknown, "blob unknown to registry", $"{match.UpstreamRepository}@{key} is not in the upstream registry {match.Rule.UpstreamUrl}");
        var length = response.Content.Headers.ContentLength;
        var client = head ? null : context.Response;
        if (client is not null)
        {
            client.StatusCode = StatusCodes.Status200OK;
            client.Headers.ContentType = RegistryHeaders.OctetStream;
            client.Headers[RegistryHeaders.ContentDigest] = key;
            client.ContentLength = length;
        }

        var session = await uploads.StartAsync(match.Repository, digest.Algorithm, resumable: false, CancellationToken.None);
        var pipe = new Pipe();
        var storing = uploads.AppendAsync(session, session.Cursor!, pipe.Reader, CancellationToken.None);
        var buffer = ArrayPool<byte>.Shared.Rent(_options.CopyBufferBytes);
        var held = ArrayPool<byte>.Shared.Rent(_options.CopyBufferBytes);
        var heldCount = 0;
        var clientGone = false;
        try
        {
            await using (var body = await response.Content.ReadAsStreamAsync(CancellationToken.None))
            {
                while (true)
                {
                    var read = await body.ReadAsync(buffer, CancellationToken.None);
                    if (read == 0)
                    {
                        break;
                    }

                    await pipe.Writer.WriteAsync(buffer.AsMemory(0, read), CancellationToken.None);
                    clientGone = clientGone || !await SendAsync(client, held.AsMemory(0, heldCount), context.RequestAborted);
                    (buffer, held, heldCount) = (held, buffer, read);
                }
            }

            await pipe.Writer.CompleteAsync();
            await storing;
            await uploads.CompleteAsync(session, session.Cursor!, digest, CancellationToken.None);
        }
        catch (Exception e)
        {
            await pipe.Writer.CompleteAsync(e);
            await Task.WhenAny(storing);
            if (!session.Closed)
            {
                await uploads.CancelAsync(session, CancellationToken.None);
            }

            var mismatch = e is RegistryException { StatusCode: StatusCodes.Status400BadRequest };
            if (mismatch)
            {
                Log.DigestMismatch(logger, match.Repository, key, e.Message);
            }
            else
            {
                Log.FetchFailed(logger, match.Repository, key, e.Message);
            }

            if (client is { HasStarted: true })
            {
                // The client has a prefix of the bytes and its Content-Length: cutting the connection is the only way
                // left to tell it the blob is not good (it never gets the last read).
                context.Abort();
                return true;
            }

            throw mismatch
                ? Mismatch(match, $"blob {key}: the upstream's content does not match its digest ({e.Message}); nothing was stored")
                : Unavailable(match, e.Message);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            ArrayPool<byte>.Shared.Return(held);
        }

        await ReferenceAsync(match.Repository, key);
        Log.BlobCached(logger, match.Repository, key, session.Cursor?.Offset ?? 0, match.Rule.UpstreamUrl.ToString());
        if (client is null)
        {
            return false;
        }

        await SendAsync(client, held.AsMemory(0, heldCount), context.RequestAborted);
        return true;
    }

    // Writes to the client, which may have gone: its failure must not stop the fetch that stores the blob.
    private static async ValueTask<bool> SendAsync(HttpResponse? client, ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        if (client is null || bytes.IsEmpty)
        {
            return true;
        }

        try
        {
            await client.Body.WriteAsync(bytes, cancellationToken);
            return true;
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
        {
            return false;
        }
    }

    private CancellationTokenSource Deadline(CancellationToken cancellationToken)
    {
        var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.UpstreamTimeout);
        return timeout;
    }

    // A failure of the upstream (refused, unreachable, timed out, lying), not of this request.
    private static bool IsUpstreamFailure(Exception e, CancellationToken request) =>
        e is HttpRequestException or RemoteRegistryException or IOException
        || (e is OperationCanceledException && !request.IsCancellationRequested)
        || e is RegistryException { StatusCode: StatusCodes.Status502BadGateway or StatusCodes.Status503ServiceUnavailable or StatusCodes.Status404NotFound };

    private static RegistryException Unavailable(CacheMatch match, string why) =>
        new(StatusCodes.Status503ServiceUnavailable, ErrorCodes.Unavailable, "the upstream registry is unavailable", $"{match.Rule.UpstreamUrl}: {why}");

    private static RegistryException Mismatch(CacheMatch match, string why) =>
        new(StatusCodes.Status502BadGateway, ErrorCodes.DigestInvalid, "the upstream registry sent content that does not match its digest", $"{match.Rule.UpstreamUrl}: {why}");
}
