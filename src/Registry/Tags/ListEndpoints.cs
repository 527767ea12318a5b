using System.Buffers;
using System.Text.Json;
using Berth.Registry.Access;
using Berth.Registry.Errors;
using Berth.Registry.Http;
using Berth.Registry.Routing;
using Berth.Registry.Storage;
using Microsoft.Extensions.Options;

namespace Berth.Registry.Tags;

/// <summary><c>GET /v2/&lt;name&gt;/tags/list</c> and <c>GET /v2/_catalog</c>: sorted, paginated, never <c>null</c>.</summary>
internal sealed class ListEndpoints(RegistryStore store, IRegistryAccessPolicy access, IOptions<RegistryOptions> options)
{
    private readonly int _maxPageSize = options.Value.MaxPageSize;

    public async Task TagsAsync(HttpContext context, RegistryRoute route)
    {
        if (!store.TryGetRepository(route.Name.Span, out var repository))
        {
            throw RegistryException.NameUnknown(route.Name.ToString());
        }

        var name = route.Name.ToString();
        var (limit, last) = Pagination.Parse(context, _maxPageSize);
        var entries = limit == 0 ? [] : await store.ListTagsAsync(repository, last, limit + 1, context.RequestAborted);
        var page = Pagination.Page(context, entries, limit, $"/v2/{name}/tags/list");
        await WriteAsync(context, json =>
        {
            json.WriteString("name", name);
            WriteArray(json, "tags", page);
        });
    }

    public async Task CatalogAsync(HttpContext context)
    {
        // The catalog lists only what the caller may pull: names alone can leak what a team is building.
        var visible = await access.CatalogFilterAsync(context);
        var (limit, last) = Pagination.Parse(context, _maxPageSize);
        var entries = new List<string>();
        while (limit > 0 && entries.Count <= limit)
        {
            // Read in batches until the page (and one more, for the Link) is filled with names the caller may see.
            var asked = Math.Max(limit + 1, 100);
            var batch = await store.ListRepositoriesAsync(last, asked, context.RequestAborted);
            entries.AddRange(visible is null ? batch : batch.Where(visible));
            if (batch.Count < asked)
            {
                break;
            }

            last = batch[^1];
        }

        var page = Pagination.Page(context, entries, limit, "/v2/_catalog");
        await WriteAsync(context, json => WriteArray(json, "repositories", page));
    }

    private static void WriteArray(Utf8JsonWriter json, string name, List<string> values)
    {
        json.WriteStartArray(name);
        foreach (var value in values)
        {
            json.WriteStringValue(value);
        }

        json.WriteEndArray();
    }

    private static async Task WriteAsync(HttpContext context, Action<Utf8JsonWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            body(json);
            json.WriteEndObject();
        }

        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.Headers.ContentType = RegistryHeaders.Json;
        response.ContentLength = buffer.WrittenCount;
        if (!HttpMethods.IsHead(context.Request.Method))
        {
            await response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted);
        }
    }
}
