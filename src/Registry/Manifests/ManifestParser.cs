using System.Text.Json;
using Berth.Core.Images;
using Berth.Registry.Errors;

namespace Berth.Registry.Manifests;

internal sealed record Descriptor(string MediaType, string Digest, long Size, bool HasUrls);

/// <summary>What the registry needs to know about a manifest: its type and everything it references.</summary>
internal sealed record ParsedManifest(
    string MediaType,
    string? ArtifactType,
    Descriptor? Config,
    IReadOnlyList<Descriptor> Layers,
    IReadOnlyList<Descriptor> Manifests,
    Descriptor? Subject);

/// <summary>Validates manifests on PUT; any problem is a MANIFEST_INVALID with a precise detail.</summary>
internal static class ManifestParser
{
    public static ParsedManifest Parse(ReadOnlySpan<byte> content, string? contentType)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(content.ToArray(), new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException exception)
        {
            throw RegistryException.ManifestInvalid($"not valid JSON: {exception.Message}");
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw RegistryException.ManifestInvalid("a manifest is a JSON object");
            }

            if (!root.TryGetProperty("schemaVersion", out var version) || version.ValueKind != JsonValueKind.Number || !version.TryGetInt32(out var v) || v != 2)
            {
                throw RegistryException.ManifestInvalid("schemaVersion must be 2 (schema 1 manifests are not supported)");
            }

            var bodyType = OptionalString(root, "mediaType");
            var mediaType = ResolveMediaType(contentType, bodyType, root);
            // An empty artifactType is no artifactType (referrers omit it for an index, use the config's for an image).
            var artifactType = OptionalString(root, "artifactType") is { Length: > 0 } declared ? declared : null;
            var subject = root.TryGetProperty("subject", out var subjectElement) ? ParseDescriptor(subjectElement, "subject") : null;

            if (MediaTypes.IsIndex(mediaType))
            {
                if (!root.TryGetProperty("manifests", out var manifests) || manifests.ValueKind != JsonValueKind.Array)
                {
                    throw RegistryException.ManifestInvalid("an index needs a 'manifests' array");
                }

                var children = new List<Descriptor>();
                var i = 0;
                foreach (var child in manifests.EnumerateArray())
                {
                    children.Add(ParseDescriptor(child, $"manifests[{i++}]"));
                }

                return new ParsedManifest(mediaType, artifactType, null, [], children, subject);
            }

            if (!root.TryGetProperty("config", out var configElement))
            {
                throw RegistryException.ManifestInvalid("an image manifest needs 'config'");
            }

            var config = ParseDescriptor(configElement, "config");
            var layers = new List<Descriptor>();
            if (root.TryGetProperty("layers", out var layersElement))
            {
                if (layersElement.ValueKind != JsonValueKind.Array)
                {
                    throw RegistryException.ManifestInvalid("'layers' must be an array");
                }

                var i = 0;
                foreach (var layer in layersElement.EnumerateArray())
                {
                    layers.Add(ParseDescriptor(layer, $"layers[{i++}]"));
                }
            }
            else if (mediaType == MediaTypes.DockerManifest)
            {
                throw RegistryException.ManifestInvalid("a docker image manifest needs 'layers'");
            }

            // OCI distribution spec (referrers): an image manifest without artifactType is listed with its config's
            // media type, whatever that is (application/vnd.oci.empty.v1+json included).
            if (artifactType is null && mediaType == MediaTypes.OciManifest)
            {
                artifactType = config.MediaType;
            }

            return new ParsedManifest(mediaType, artifactType, config, layers, [], subject);
        }
    }

    private static string ResolveMediaType(string? contentType, string? bodyType, JsonElement root)
    {
        var headerType = NormalizeContentType(contentType);
        if (headerType is MediaTypes.DockerSchema1 or MediaTypes.DockerSchema1Signed || bodyType is MediaTypes.DockerSchema1 or MediaTypes.DockerSchema1Signed)
        {
            throw RegistryException.ManifestInvalid("schema 1 manifests are not supported");
        }

        if (headerType is not null && MediaTypes.IsSupported(headerType))
        {
            if (bodyType is not null && bodyType != headerType)
            {
                throw RegistryException.ManifestInvalid($"Content-Type {headerType} does not match the manifest's mediaType {bodyType}");
            }

            return headerType;
        }

        if (headerType is not null && headerType != "application/json" && headerType != "application/octet-stream")
        {
            throw RegistryException.ManifestInvalid($"unsupported manifest media type {headerType}");
        }

        if (bodyType is not null)
        {
            return MediaTypes.IsSupported(bodyType) ? bodyType : throw RegistryException.ManifestInvalid($"unsupported manifest media type {bodyType}");
        }

        // Neither says: OCI content without mediaType is an index when it lists manifests, else an image manifest.
        return root.TryGetProperty("manifests", out _) ? MediaTypes.OciIndex : MediaTypes.OciManifest;
    }

    private static string? NormalizeContentType(string? contentType)
    {
        if (string.IsNullOrWhiteSpace(contentType))
        {
            return null;
        }

        var semicolon = contentType.IndexOf(';', StringComparison.Ordinal);
        return (semicolon < 0 ? contentType : contentType[..semicolon]).Trim();
    }

    private static Descriptor ParseDescriptor(JsonElement element, string where)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw RegistryException.ManifestInvalid($"{where} must be a descriptor object");
        }

        var mediaType = OptionalString(element, "mediaType") ?? throw RegistryException.ManifestInvalid($"{where}.mediaType is missing");
        var digestText = OptionalString(element, "digest") ?? throw RegistryException.ManifestInvalid($"{where}.digest is missing");
        if (!Digest.TryParse(digestText, out var digest))
        {
            throw new RegistryException(StatusCodes.Status400BadRequest, ErrorCodes.ManifestInvalid, "manifest invalid", $"{where}.digest '{digestText}' is not a valid digest");
        }

        if (!element.TryGetProperty("size", out var sizeElement) || sizeElement.ValueKind != JsonValueKind.Number || !sizeElement.TryGetInt64(out var size) || size < 0)
        {
            throw RegistryException.ManifestInvalid($"{where}.size must be a non-negative integer");
        }

        var hasUrls = element.TryGetProperty("urls", out var urls) && urls.ValueKind == JsonValueKind.Array && urls.GetArrayLength() > 0;
        return new Descriptor(mediaType, digest.ToString(), size, hasUrls);
    }

    private static string? OptionalString(JsonElement element, string name)
    {
        if (!element.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.String ? value.GetString() : throw RegistryException.ManifestInvalid($"'{name}' must be a string");
    }
}
