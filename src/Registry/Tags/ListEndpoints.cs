using System.Buffers;
using System.Text.Json;
using Berth.Registry.Errors;
using Berth.Registry.Http;
using Berth.Registry.Routing;
using Berth.Registry.Storage;
using Microsoft.Extensions.Options;

namespace Berth.Registry.Tags;

/// <summary><c>GET /v2/&lt;name&gt;/tags/list</c> and <c>GET /v2/_catalog</c>: sorted, paginated, never <c>null</c>.</summary>
internal sealed class ListEndpoints(RegistryStore store, IOptions<RegistryOptions> options)
{
    private readonly int _maxPageSize = options.Value.MaxPageSize;

    public Task TagsAsync(HttpContext context, RegistryRoute route)
    {
        if (!store.TryGetRepository(route.Name.Span, out var repository))
        {
            throw RegistryException.NameUnknown(route.Name.ToString());
        }

        var sorted = repository.Tags.Keys.ToList();
        sorted.Sort(StringComparer.Ordinal);
        var page = Pagination.Page(context, sorted, _maxPageSize, $"/v2/{repository.Name}/tags/list");
        return WriteAsync(context, json =>
        {
            json.WriteString("name", repository.Name);
            WriteArray(json, "tags", page);
        });
    }

    public Task CatalogAsync(HttpContext context)
    {
        var sorted = store.Repositories.Select(r => r.Name).ToList();
        sorted.Sort(StringComparer.Ordinal);
        var page = Pagination.Page(context, sorted, _maxPageSize, "/v2/_catalog");
        return WriteAsync(context, json => WriteArray(json, "repositories", page));
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
