using System.Buffers;
using System.Net;
using System.Text;
using System.Text.Json;
using Berth.Registry.Notifications;
using Berth.Registry.Storage;
using Microsoft.AspNetCore.Http;

namespace Berth.Registry.Tests.Notifications;

/// <summary>
/// <see cref="NotificationEventWriter"/> writes, byte for byte, what the generated serializer writes for the same
/// <see cref="NotificationEvent"/> records (the format's definition, which replication reads with): every optional
/// field present and absent, escaping, IPv4 and IPv6 addresses, several events through one reused writer.
/// </summary>
public sealed class NotificationEventWriterTests
{
    private static readonly NotificationSource s_source = new("registry-1", "5f0c6c55-1d5e-4b9e-8f7e-0d7cbb1d2a11");
    private static readonly DateTimeOffset s_at = new(2026, 12, 4, 12, 0, 0, 123, TimeSpan.Zero);

    public static TheoryData<string> Cases() => ["manifest by tag", "blob", "tag delete", "no request", "ipv6, no actor, escapes", "no address, no host"];

    [Theory]
    [MemberData(nameof(Cases))]
    public void Writes_WhatTheGeneratedSerializerWrites(string name)
    {
        var (change, kind, request) = Case(name);
        var id = Guid.NewGuid();

        var written = Write(id, change, kind, request);

        Assert.Equal(Expected(id, change, kind, request), Encoding.UTF8.GetString(written));
    }

    [Fact]
    public void EventsWrittenOneAfterAnother_ThroughOneWriter_AreEachComplete()
    {
        var buffer = new ArrayBufferWriter<byte>();
        using var writer = new Utf8JsonWriter(buffer);
        var ends = new List<int>();
        var expected = new List<string>();
        foreach (var name in Cases())
        {
            var (change, kind, request) = Case(name);
            var id = Guid.NewGuid();
            NotificationEventWriter.Write(writer, id, s_at, "pull", change, kind, request, new NotificationEventWriter.EncodedSource(s_source));
            writer.Flush();
            writer.Reset();
            ends.Add(buffer.WrittenCount);
            expected.Add(Expected(id, change, kind, request));
        }

        var start = 0;
        for (var i = 0; i < ends.Count; i++)
        {
            Assert.Equal(expected[i], Encoding.UTF8.GetString(buffer.WrittenSpan[start..ends[i]]));
            start = ends[i];
        }
    }

    private static byte[] Write(Guid id, RegistryChange change, string kind, RequestFacts? request)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            NotificationEventWriter.Write(writer, id, s_at, "pull", change, kind, request, new NotificationEventWriter.EncodedSource(s_source));
        }

        return buffer.WrittenSpan.ToArray();
    }

    // What OutboxJournal wrote before the writer existed: the records, serialized by the generated context.
    private static string Expected(Guid id, RegistryChange change, string kind, RequestFacts? request) => JsonSerializer.Serialize(
        new NotificationEvent(
            id.ToString(),
            s_at,
            "pull",
            new NotificationTarget(
                change.MediaType,
                change.MediaType is null ? null : change.Size,
                change.Digest,
                change.MediaType is null ? null : change.Size,
                change.Repository,
                request is not null && change.Digest is { } digest ? request.Url(change.Repository, kind, digest) : null,
                change.Tag),
            request?.ToRequest(),
            request?.Actor(),
            s_source),
        NotificationJsonContext.Default.NotificationEvent);

    private static (RegistryChange Change, string Kind, RequestFacts? Request) Case(string name) => name switch
    {
        "manifest by tag" => (
            new RegistryChange(ChangeAction.Pull, "team/app", "sha256:aaa", "application/vnd.oci.image.manifest.v1+json", 512, "v1"),
            "manifests",
            RequestFacts.Capture(Request(IPAddress.Parse("10.1.2.3"), "registry.test:5000", "docker/28.0", basic: "ci-bot:secret"))),
        "blob" => (
            new RegistryChange(ChangeAction.Pull, "team/app", "sha256:bbb", PullEvents.BlobMediaType, 1234, null),
            "blobs",
            RequestFacts.Capture(Request(IPAddress.Parse("10.1.2.3"), "registry.test:5000", "docker/28.0", basic: null))),
        "tag delete" => (
            new RegistryChange(ChangeAction.Delete, "team/app", null, null, 0, "old"),
            "manifests",
            RequestFacts.Capture(Request(IPAddress.Parse("127.0.0.1"), "localhost:5000", "curl/8", basic: "admin:pw"))),
        "no request" => (
            new RegistryChange(ChangeAction.Push, "a", "sha256:ccc", "application/vnd.docker.distribution.manifest.v2+json", 7, null),
            "manifests",
            null),
        "ipv6, no actor, escapes" => (
            new RegistryChange(ChangeAction.Pull, "é/<app>", "sha256:ddd", "application/vnd.oci.image.index.v1+json", long.MaxValue, "v1+\"x\"&'y'"),
            "manifests",
            RequestFacts.Capture(Request(IPAddress.Parse("fe80::1%3"), "[::1]:5000", "Mozilla/5.0 (ünïcode) \\ \u0001 ☃", basic: null))),
        "no address, no host" => (
            new RegistryChange(ChangeAction.Pull, "a", "sha256:eee", "m", 1, null),
            "manifests",
            RequestFacts.Capture(Request(null, null, "", basic: "u:p"))),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    private static DefaultHttpContext Request(IPAddress? ip, string? host, string userAgent, string? basic)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = "GET";
        context.Request.Scheme = "http";
        if (host is not null)
        {
            context.Request.Host = new HostString(host);
        }

        context.Request.Path = "/v2/x/manifests/y";
        if (userAgent.Length > 0)
        {
            context.Request.Headers.UserAgent = userAgent;
        }

        if (basic is not null)
        {
            context.Request.Headers.Authorization = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(basic));
        }

        context.Connection.RemoteIpAddress = ip;
        context.Connection.RemotePort = 4567;
        context.TraceIdentifier = "0HN:00000001";
        return context;
    }
}
