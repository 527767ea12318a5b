using System.Buffers;
using System.Text.Json;
using Berth.Core.Images;
using Berth.Registry.Errors;
using Berth.Registry.Http;
using Berth.Registry.Manifests;
using Berth.Registry.Routing;
using Berth.Registry.Storage;

namespace Berth.Registry.Referrers;

/// <summary>
/// OCI 1.1 referrers API: <c>GET /v2/&lt;name&gt;/referrers/&lt;digest&gt;[?artifactType=]</c> answers an image index
/// of the manifests whose <c>subject</c> is that digest (an empty index when there are none).
/// </summary>
internal sealed class ReferrersEndpoint(RegistryStore store)
{
    public async Task GetAsync(HttpContext context, RegistryRoute route)
    {
        if (!Digest.IsValid(route.Argument.Span))
        {
            throw RegistryException.DigestMalformed(route.Argument);
        }

        var subject = route.Argument.ToString();
        var artifactType = context.Request.Query["artifactType"].ToString();
        // Not a hot path, and a subject may have many referrers: asked of the metadata store (indexed by subject).
        var referrers = store.TryGetRepository(route.Name.Span, out var repository)
            ? await store.ListReferrersAsync(repository, subject, artifactType.Length > 0 ? artifactType : null, context.RequestAborted)
            : [];
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteNumber("schemaVersion", 2);
            json.WriteString("mediaType", MediaTypes.OciIndex);
            json.WriteStartArray("manifests");
            foreach (var manifest in referrers)
            {
                json.WriteStartObject();
                json.WriteString("mediaType", manifest.MediaType);
                json.WriteString("digest", manifest.Digest);
                json.WriteNumber("size", manifest.Content.Length);
                if (manifest.ArtifactType is not null)
                {
                    json.WriteString("artifactType", manifest.ArtifactType);
                }

                WriteAnnotations(json, manifest.Content);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = MediaTypes.OciIndex;
        if (artifactType.Length > 0)
        {
            response.Headers[RegistryHeaders.FiltersApplied] = "artifactType";
        }

        response.ContentLength = buffer.WrittenCount;
        if (!HttpMethods.IsHead(context.Request.Method))
        {
            await response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted);
        }
    }

    // The referrer descriptor carries the referrer manifest's annotations (OCI 1.1).
    private static void WriteAnnotations(Utf8JsonWriter json, byte[] content)
    {
        using var document = JsonDocument.Parse(content);
        if (document.RootElement.TryGetProperty("annotations", out var annotations) && annotations.ValueKind == JsonValueKind.Object)
        {
            json.WritePropertyName("annotations");
            annotations.WriteTo(json);
        }
    }
}
