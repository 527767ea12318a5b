using Berth.Core.Images;
using Berth.Registry.Access;
using Berth.Registry.Blobs;
using Berth.Registry.Errors;
using Berth.Registry.Http;
using Berth.Registry.Manifests;
using Berth.Registry.Notifications;
using Berth.Registry.PullThrough;
using Berth.Registry.Referrers;
using Berth.Registry.Storage;
using Berth.Registry.Tags;
using Berth.Registry.Uploads;

namespace Berth.Registry.Routing;

/// <summary>
/// The registry's only request handler: a hand-written path parser and a switch, instead of MVC or the endpoint
/// router, because the hot paths (HEAD blob, GET manifest, GET /v2/) must cost microseconds and no allocations.
/// Every request resolves (repository, action) and passes <see cref="IRegistryAccessPolicy"/> before storage.
/// </summary>
internal sealed partial class RegistryDispatcher(
    IRegistryAccessPolicy access,
    BlobEndpoints blobs,
    UploadEndpoints uploads,
    ManifestEndpoints manifests,
    ListEndpoints lists,
    ReferrersEndpoint referrers,
    PullThroughCache cache,
    PullEvents pullEvents,
    ILogger<RegistryDispatcher> logger)
{
    private static readonly ReadOnlyMemory<byte> s_emptyObject = "{}"u8.ToArray();

    public async Task InvokeAsync(HttpContext context)
    {
        context.Response.Headers[RegistryHeaders.ApiVersion] = RegistryHeaders.ApiVersionValue;
        try
        {
            await DispatchAsync(context);
        }
        catch (RegistryException exception) when (!context.Response.HasStarted)
        {
            await ErrorWriter.WriteAsync(context, exception);
        }
        catch (Exception exception) when (exception is OperationCanceledException or IOException && context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; whatever it sent so far is accounted for (uploads keep a consistent offset).
            LogAborted(logger, context.Request.Method, context.Request.Path);
        }
        catch (BadHttpRequestException exception) when (!context.Response.HasStarted)
        {
            LogBadRequest(logger, context.Request.Method, context.Request.Path, exception.Message);
            await ErrorWriter.WriteAsync(context, exception.StatusCode, [new RegistryError(ErrorCodes.Unsupported, "bad request", exception.Message)]);
        }
        catch (Exception exception) when (StorageFull.Is(exception))
        {
            // One line, no stack trace: a full disk is an operator's problem, not a bug, and comes with every write
            // until someone frees space. Reads go on (they write nothing); an upload keeps what it had stored.
            LogStorageFull(logger, context.Request.Method, context.Request.Path, exception.Message);
            if (!context.Response.HasStarted)
            {
                await ErrorWriter.WriteAsync(context, InsufficientStorage(context));
            }
        }
    }

    // RFC 4918's 507 with the spec's JSON body; the code says which operation could not be stored.
    private static RegistryException InsufficientStorage(HttpContext context)
    {
        var code = RegistryRoute.Parse(context.Request.Path.Value ?? "/").Kind switch
        {
            RouteKind.Upload => ErrorCodes.BlobUploadInvalid,
            RouteKind.Manifest => ErrorCodes.ManifestInvalid,
            _ => ErrorCodes.Denied,
        };
        return new RegistryException(
            StatusCodes.Status507InsufficientStorage,
            code,
            "insufficient storage",
            "the registry's storage is full: nothing of this request was stored; an upload keeps what it had and can resume once space is freed");
    }

    private async Task DispatchAsync(HttpContext context)
    {
        var request = context.Request;
        var method = request.Method;
        var route = RegistryRoute.Parse(request.Path.Value ?? "/");
        switch (route.Kind)
        {
            case RouteKind.Base:
                RequireRead(method);
                await AuthorizeAsync(context, default, RegistryAction.Base);
                context.Response.StatusCode = StatusCodes.Status200OK;
                context.Response.Headers.ContentType = RegistryHeaders.Json;
                context.Response.ContentLength = s_emptyObject.Length;
                if (!HttpMethods.IsHead(method))
                {
                    await context.Response.Body.WriteAsync(s_emptyObject, context.RequestAborted);
                }

                return;

            case RouteKind.Catalog:
                RequireRead(method);
                await AuthorizeAsync(context, default, RegistryAction.Catalog);
                await lists.CatalogAsync(context);
                return;

            case RouteKind.NotFound:
                throw new RegistryException(StatusCodes.Status404NotFound, ErrorCodes.Unsupported, "unknown endpoint", request.Path.Value);
        }

        if (!RepositoryName.IsValid(route.Name.Span))
        {
            throw RegistryException.NameInvalid($"'{route.Name}' does not match the repository name grammar");
        }

        var action = ActionFor(route.Kind, method);
        var mountSource = route.Kind == RouteKind.Upload && route.Argument.IsEmpty && HttpMethods.IsPost(method) ? MountSource(request) : default;
        await AuthorizeAsync(context, route.Name, action, mountSource);
        if (cache.Covers(route.Name.Span))
        {
            // A pull-through cache repository: ECR refuses pushes into it, and a pull fills what is missing first.
            if (action == RegistryAction.Push)
            {
                throw cache.PushRefused(route.Name.Span);
            }

            if (route.Kind == RouteKind.Manifest && action == RegistryAction.Pull)
            {
                await cache.PrepareManifestAsync(route, context.RequestAborted);
            }
            else if (route.Kind == RouteKind.Blob && action == RegistryAction.Pull
                && await cache.ServeBlobAsync(context, route, head: HttpMethods.IsHead(method)))
            {
                // Streamed from the upstream as it was fetched: still a pull of this registry's blob.
                if (pullEvents.Enabled && HttpMethods.IsGet(method) && context.Response.ContentLength is { } length)
                {
                    pullEvents.Blob(context, route.Name.ToString(), route.Argument.ToString(), length);
                }

                return;
            }
        }

        switch (route.Kind)
        {
            case RouteKind.Blob:
                await (method switch
                {
                    _ when HttpMethods.IsHead(method) => blobs.HeadAsync(context, route),
                    _ when HttpMethods.IsGet(method) => blobs.GetAsync(context, route),
                    _ => blobs.DeleteAsync(context, route),
                });
                return;

            case RouteKind.Manifest:
                await (method switch
                {
                    _ when HttpMethods.IsGet(method) => manifests.GetAsync(context, route, head: false),
                    _ when HttpMethods.IsHead(method) => manifests.GetAsync(context, route, head: true),
                    _ when HttpMethods.IsPut(method) => manifests.PutAsync(context, route),
                    _ => manifests.DeleteAsync(context, route),
                });
                return;

            case RouteKind.Upload when route.Argument.IsEmpty:
                await uploads.PostAsync(context, route);
                return;

            case RouteKind.Upload:
                await (method switch
                {
                    _ when HttpMethods.IsPatch(method) => uploads.PatchAsync(context, route),
                    _ when HttpMethods.IsPut(method) => uploads.PutAsync(context, route),
                    _ when HttpMethods.IsGet(method) => uploads.GetStatusAsync(context, route),
                    _ => uploads.DeleteAsync(context, route),
                });
                return;

            case RouteKind.TagsList:
                await lists.TagsAsync(context, route);
                return;

            case RouteKind.Referrers:
                await referrers.GetAsync(context, route);
                return;
        }
    }

    /// <summary>The action a request needs, or 405 when the route has no such method.</summary>
    private static RegistryAction ActionFor(RouteKind kind, string method)
    {
        var read = HttpMethods.IsGet(method) || HttpMethods.IsHead(method);
        var allowed = kind switch
        {
            RouteKind.Blob when read => RegistryAction.Pull,
            RouteKind.Blob when HttpMethods.IsDelete(method) => RegistryAction.Delete,
            RouteKind.Manifest when read => RegistryAction.Pull,
            RouteKind.Manifest when HttpMethods.IsPut(method) => RegistryAction.Push,
            RouteKind.Manifest when HttpMethods.IsDelete(method) => RegistryAction.Delete,
            RouteKind.Upload when HttpMethods.IsPost(method) => RegistryAction.Push,
            RouteKind.Upload when HttpMethods.IsPatch(method) || HttpMethods.IsPut(method) || HttpMethods.IsGet(method) || HttpMethods.IsDelete(method) => RegistryAction.Push,
            RouteKind.TagsList when read => RegistryAction.Pull,
            RouteKind.Referrers when read => RegistryAction.Pull,
            _ => (RegistryAction?)null,
        };
        return allowed ?? throw RegistryException.Unsupported($"{method} is not supported here");
    }

    private static void RequireRead(string method)
    {
        if (!HttpMethods.IsGet(method) && !HttpMethods.IsHead(method))
        {
            throw RegistryException.Unsupported($"{method} is not supported here");
        }
    }

    /// <summary>
    /// Checks the access the request needs. A cross-repository mount (<paramref name="mountSource"/>) needs pull on its
    /// source as well, as in distribution: a caller whose account may pull the source but whose token does not say so
    /// gets a 401 naming both scopes, so that it fetches a token that can mount (clients re-authenticate only on 401);
    /// a caller that may not pull it goes on, and the mount becomes a plain upload (202), as the spec says for a mount
    /// the registry cannot do.
    /// </summary>
    private async ValueTask AuthorizeAsync(HttpContext context, ReadOnlyMemory<char> repository, RegistryAction action, ReadOnlyMemory<char> mountSource = default)
    {
        var decision = await access.CheckAsync(context, repository, action);
        if (decision == AccessDecision.Allow && !mountSource.IsEmpty
            && await access.CheckAsync(context, mountSource, RegistryAction.Pull) != AccessDecision.Allow
            && await access.MayPullAsync(context, mountSource))
        {
            decision = AccessDecision.Denied;
        }

        if (decision == AccessDecision.Allow)
        {
            return;
        }

        AccessScope[] scopes = mountSource.IsEmpty
            ? [new(repository, action)]
            : [new(repository, action), new(mountSource, RegistryAction.Pull)];
        access.AddChallenge(context, scopes, decision);
        throw decision == AccessDecision.Unauthorized
            ? new RegistryException(StatusCodes.Status401Unauthorized, ErrorCodes.Unauthorized, "authentication required", action.ToString())
            // RFC 6750 insufficient_scope: 401, not 403, because a client asks for a better token only on a 401.
            : new RegistryException(StatusCodes.Status401Unauthorized, ErrorCodes.Denied, "requested access to the resource is denied", action.ToString());
    }

    /// <summary>The <c>from</c> of <c>POST .../blobs/uploads/?mount=&amp;from=</c>, when it is a repository name.</summary>
    private static ReadOnlyMemory<char> MountSource(HttpRequest request)
    {
        if (!request.QueryString.HasValue)
        {
            return default;
        }

        var query = request.Query;
        var from = query["from"].ToString();
        // An invalid name is the upload endpoint's NAME_INVALID to answer, not an access question.
        return query["mount"].ToString().Length > 0 && RepositoryName.IsValid(from) ? from.AsMemory() : default;
    }
}
