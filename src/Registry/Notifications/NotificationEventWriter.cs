using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Berth.Registry.Storage;

namespace Berth.Registry.Notifications;

/// <summary>
/// Writes one event as distribution's JSON straight into UTF-8 (<see cref="Utf8JsonWriter"/>), for the outbox: what
/// <see cref="NotificationJsonContext"/>'s generated serializer writes for a <see cref="NotificationEvent"/>, byte for
/// byte (same names and order, nulls left out, the same escaping), without building the records first or the strings
/// they hold (the id, the address, the URL): pulls write thousands of these a second, and the records were most of
/// their cost. The records stay the format's definition (replication reads events with them); a test holds the two to
/// the same bytes.
/// </summary>
internal static class NotificationEventWriter
{
    private static readonly JsonEncodedText s_id = JsonEncodedText.Encode("id");
    private static readonly JsonEncodedText s_timestamp = JsonEncodedText.Encode("timestamp");
    private static readonly JsonEncodedText s_action = JsonEncodedText.Encode("action");
    private static readonly JsonEncodedText s_target = JsonEncodedText.Encode("target");
    private static readonly JsonEncodedText s_mediaType = JsonEncodedText.Encode("mediaType");
    private static readonly JsonEncodedText s_size = JsonEncodedText.Encode("size");
    private static readonly JsonEncodedText s_digest = JsonEncodedText.Encode("digest");
    private static readonly JsonEncodedText s_length = JsonEncodedText.Encode("length");
    private static readonly JsonEncodedText s_repository = JsonEncodedText.Encode("repository");
    private static readonly JsonEncodedText s_url = JsonEncodedText.Encode("url");
    private static readonly JsonEncodedText s_tag = JsonEncodedText.Encode("tag");
    private static readonly JsonEncodedText s_request = JsonEncodedText.Encode("request");
    private static readonly JsonEncodedText s_addr = JsonEncodedText.Encode("addr");
    private static readonly JsonEncodedText s_host = JsonEncodedText.Encode("host");
    private static readonly JsonEncodedText s_method = JsonEncodedText.Encode("method");
    private static readonly JsonEncodedText s_userAgent = JsonEncodedText.Encode("useragent");
    private static readonly JsonEncodedText s_actor = JsonEncodedText.Encode("actor");
    private static readonly JsonEncodedText s_name = JsonEncodedText.Encode("name");
    private static readonly JsonEncodedText s_source = JsonEncodedText.Encode("source");
    private static readonly JsonEncodedText s_instanceId = JsonEncodedText.Encode("instanceID");

    /// <summary>The fields of <see cref="NotificationSource"/>, encoded once: every event of the process names the same source.</summary>
    internal sealed class EncodedSource(NotificationSource source)
    {
        public NotificationSource Source { get; } = source;

        public JsonEncodedText Addr { get; } = JsonEncodedText.Encode(source.Addr);

        public JsonEncodedText InstanceId { get; } = JsonEncodedText.Encode(source.InstanceId);
    }

    /// <param name="kind"><c>manifests</c> or <c>blobs</c>: which URL the target's <c>url</c> names.</param>
    public static void Write(Utf8JsonWriter writer, Guid id, DateTimeOffset at, string action, in RegistryChange change, string kind, RequestFacts? request, EncodedSource source)
    {
        writer.WriteStartObject();
        writer.WriteString(s_id, id);
        writer.WriteString(s_timestamp, at);
        writer.WriteString(s_action, action);

        writer.WriteStartObject(s_target);
        if (change.MediaType is not null)
        {
            writer.WriteString(s_mediaType, change.MediaType);
            writer.WriteNumber(s_size, change.Size);
        }

        if (change.Digest is not null)
        {
            writer.WriteString(s_digest, change.Digest);
        }

        if (change.MediaType is not null)
        {
            writer.WriteNumber(s_length, change.Size);
        }

        writer.WriteString(s_repository, change.Repository);
        if (request is not null && change.Digest is not null)
        {
            WriteUrl(writer, request, change.Repository, kind, change.Digest);
        }

        if (change.Tag is not null)
        {
            writer.WriteString(s_tag, change.Tag);
        }

        writer.WriteEndObject();

        if (request is not null)
        {
            WriteRequest(writer, request);
        }

        writer.WriteStartObject(s_source);
        writer.WriteString(s_addr, source.Addr);
        writer.WriteString(s_instanceId, source.InstanceId);
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    private static void WriteRequest(Utf8JsonWriter writer, RequestFacts request)
    {
        writer.WriteStartObject(s_request);
        writer.WriteString(s_id, request.Id);
        if (request.RemoteIp is { } ip)
        {
            // "address:port", as RequestFacts.ToRequest formats it (an IPv6 address without brackets).
            Span<char> addr = stackalloc char[64];
            if (ip.TryFormat(addr, out var written) && written < addr.Length - 1)
            {
                addr[written++] = ':';
                if (request.RemotePort.TryFormat(addr[written..], out var port, default, CultureInfo.InvariantCulture))
                {
                    writer.WriteString(s_addr, addr[..(written + port)]);
                }
            }
        }

        if (request.Host is not null)
        {
            writer.WriteString(s_host, request.Host);
        }

        writer.WriteString(s_method, request.Method);
        writer.WriteString(s_userAgent, request.UserAgent);
        writer.WriteEndObject();

        if (request.ActorName is not null)
        {
            writer.WriteStartObject(s_actor);
            writer.WriteString(s_name, request.ActorName);
            writer.WriteEndObject();
        }
    }

    // RequestFacts.Url, put together in a rented buffer rather than a string.
    private static void WriteUrl(Utf8JsonWriter writer, RequestFacts request, string repository, string kind, string digest)
    {
        var length = request.UrlBase.Length + "/v2/".Length + repository.Length + 1 + kind.Length + 1 + digest.Length;
        var rented = ArrayPool<char>.Shared.Rent(length);
        try
        {
            var url = rented.AsSpan(0, length);
            var at = 0;
            foreach (var part in (ReadOnlySpan<string>)[request.UrlBase, "/v2/", repository, "/", kind, "/", digest])
            {
                part.CopyTo(url[at..]);
                at += part.Length;
            }

            writer.WriteString(s_url, url);
        }
        finally
        {
            ArrayPool<char>.Shared.Return(rented);
        }
    }
}
