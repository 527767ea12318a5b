using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Berth.Core.Images;

namespace Berth.Registry.Tests.Auth;

/// <summary>
/// Throws malformed names, digests, ranges, manifests and credentials at the authenticated API: every answer must be
/// a spec error (never a 5xx, never an empty body on GET/PUT/POST), and what was stored before must be intact after.
/// (A NUL byte in a path never reaches the registry: Kestrel refuses that request line itself, with a 400.)
/// </summary>
public sealed class MalformedInputTests : IDisposable
{
    private static readonly HashSet<string> s_specCodes =
    [
        "BLOB_UNKNOWN", "BLOB_UPLOAD_INVALID", "BLOB_UPLOAD_UNKNOWN", "DIGEST_INVALID", "MANIFEST_BLOB_UNKNOWN",
        "MANIFEST_INVALID", "MANIFEST_UNKNOWN", "NAME_INVALID", "NAME_UNKNOWN", "SIZE_INVALID", "UNAUTHORIZED",
        "DENIED", "UNSUPPORTED", "TOOMANYREQUESTS", "TAG_INVALID", "PAGINATION_NUMBER_INVALID", "RANGE_INVALID",
    ];

    private static readonly string[] s_badNames =
    [
        "..", "%2e%2e", "%2E%2E/x", "UPPER/case", new string('a', 300), "a%01b", "a//b", "a/../b", "-lead", "trail-",
        "a___b", "a..b", "%2fetc%2fpasswd", "a%20b", "ü",
    ];

    private static readonly string[] s_badDigests =
    [
        "sha256:abc", "sha256:" + new string('A', 64), "md5:d41d8cd98f00b204e9800998ecf8427e", "sha256", ":", "sha256:../../../etc/passwd",
        "sha512:" + new string('0', 64), "sha256:" + new string('g', 64), "sha256:" + new string('0', 65), "%01", "sha256:%0a",
    ];

    private static readonly string[] s_badRanges = ["bytes=abc", "0-", "10-5", "0-99999999999999999999999", "-5", "5-4", "a-b", "0--1", "1-1"];

    private readonly AuthRegistryFactory _factory = new();
    private readonly HttpClient _client;
    private string _token = string.Empty;

    public MalformedInputTests() => _client = _factory.CreateClient();

    public void Dispose() => _factory.Dispose();

    [Fact]
    public async Task MalformedRequests_AreSpecErrors_AndStoredContentIsUntouched()
    {
        _token = await AuthRegistryFactory.TokenAsync(_client, "admin", _factory.AdminPassword, "repository:stable/app:pull,push,delete", "repository:x:pull,push,delete", "registry:catalog:*");
        var layer = Encoding.UTF8.GetBytes("a layer that must survive");
        var config = Encoding.UTF8.GetBytes("{\"architecture\":\"amd64\",\"os\":\"linux\"}");
        await ExpectAsync(HttpMethod.Post, $"/v2/stable/app/blobs/uploads/?digest={Digest.Compute(layer)}", HttpStatusCode.Created, new ByteArrayContent(layer));
        await ExpectAsync(HttpMethod.Post, $"/v2/stable/app/blobs/uploads/?digest={Digest.Compute(config)}", HttpStatusCode.Created, new ByteArrayContent(config));
        var manifest = Manifest(Digest.Compute(config), config.Length, [(Digest.Compute(layer), layer.Length)]);
        await ExpectAsync(HttpMethod.Put, "/v2/stable/app/manifests/v1", HttpStatusCode.Created, ManifestContent(manifest));
        var before = await SnapshotAsync(layer, manifest);

        var failures = new List<string>();
        foreach (var (method, path, content, headers) in MalformedRequests(new Random(20261126), Digest.Compute(layer)))
        {
            using var request = new HttpRequestMessage(method, path) { Content = content };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _token);
            foreach (var (name, value) in headers)
            {
                if (!request.Headers.TryAddWithoutValidation(name, value))
                {
                    request.Content ??= new ByteArrayContent([]);
                    request.Content.Headers.TryAddWithoutValidation(name, value);
                }
            }

            using var response = await _client.SendAsync(request);
            var problem = await CheckSpecErrorAsync(method, response);
            if (problem is not null)
            {
                failures.Add($"{method} {path}: {problem}");
            }
        }

        foreach (var range in s_badRanges)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"/v2/stable/app/blobs/{Digest.Compute(layer)}");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _token);
            request.Headers.TryAddWithoutValidation("Range", "bytes=" + range.Replace("bytes=", "", StringComparison.Ordinal));
            using var response = await _client.SendAsync(request);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                Assert.Equal(layer, await response.Content.ReadAsByteArrayAsync());
            }
            else if (response.StatusCode != HttpStatusCode.PartialContent)
            {
                var problem = await CheckSpecErrorAsync(HttpMethod.Get, response);
                if (problem is not null && response.StatusCode != HttpStatusCode.RequestedRangeNotSatisfiable)
                {
                    failures.Add($"Range {range}: {problem}");
                }
            }
        }

        Assert.True(failures.Count == 0, string.Join('\n', failures.Take(20)));
        Assert.Equal(before, await SnapshotAsync(layer, manifest));
    }

    private static IEnumerable<(HttpMethod, string, HttpContent?, (string, string)[])> MalformedRequests(Random random, Digest existing)
    {
        foreach (var name in s_badNames)
        {
            yield return (HttpMethod.Get, $"/v2/{name}/manifests/latest", null, []);
            yield return (HttpMethod.Head, $"/v2/{name}/blobs/{existing}", null, []);
            yield return (HttpMethod.Post, $"/v2/{name}/blobs/uploads/", null, []);
            yield return (HttpMethod.Get, $"/v2/{name}/tags/list", null, []);
            yield return (HttpMethod.Put, $"/v2/{name}/manifests/v1", ManifestContent("{}"), []);
        }

        foreach (var digest in s_badDigests)
        {
            yield return (HttpMethod.Get, $"/v2/stable/app/blobs/{digest}", null, []);
            yield return (HttpMethod.Delete, $"/v2/stable/app/blobs/{digest}", null, []);
            yield return (HttpMethod.Get, $"/v2/stable/app/manifests/{digest}", null, []);
            yield return (HttpMethod.Delete, $"/v2/stable/app/manifests/{digest}", null, []);
            yield return (HttpMethod.Post, $"/v2/stable/app/blobs/uploads/?digest={digest}", new ByteArrayContent([1, 2, 3]), []);
            yield return (HttpMethod.Post, $"/v2/stable/app/blobs/uploads/?mount={digest}&from=x", null, []);
            yield return (HttpMethod.Get, $"/v2/stable/app/referrers/{digest}", null, []);
        }

        // Range on GET blob is checked separately: RFC 9110 says a syntactically invalid Range is ignored (200).
        yield return (HttpMethod.Get, $"/v2/stable/app/blobs/{existing}", null, [("Range", "bytes=1000-2000")]);
        foreach (var range in s_badRanges)
        {
            yield return (HttpMethod.Patch, "/v2/stable/app/blobs/uploads/00000000000000000000000000000000", new ByteArrayContent([1]), [("Content-Range", range)]);
        }

        // Wrong digest for the bytes sent: DIGEST_INVALID, and nothing stored under either digest.
        yield return (HttpMethod.Post, $"/v2/stable/app/blobs/uploads/?digest={Digest.Compute([42])}", new ByteArrayContent([43]), []);
        // A tag that breaks the grammar, and manifests that are not manifests.
        yield return (HttpMethod.Put, "/v2/stable/app/manifests/-bad-tag", ManifestContent("{}"), []);
        yield return (HttpMethod.Put, "/v2/stable/app/manifests/v1", ManifestContent("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"digest\":\"sha256:zz\",\"size\":1}}"), []);
        yield return (HttpMethod.Put, "/v2/stable/app/manifests/v1", ManifestContent(Manifest(Digest.Compute([5]), 1, [])), []);
        yield return (HttpMethod.Put, "/v2/stable/app/manifests/v1", ManifestContent("{\"schemaVersion\":\"two\"}"), []);
        yield return (HttpMethod.Put, "/v2/stable/app/manifests/v1", ManifestContent(new string('[', 10_000)), []);
        yield return (HttpMethod.Put, "/v2/stable/app/manifests/v1", ManifestContent(new string(' ', 5 * 1024 * 1024)), []);
        for (var i = 0; i < 60; i++)
        {
            var garbage = new byte[random.Next(0, 2048)];
            random.NextBytes(garbage);
            var content = new ByteArrayContent(garbage);
            content.Headers.ContentType = new MediaTypeHeaderValue(i % 2 == 0 ? "application/vnd.oci.image.manifest.v1+json" : "application/vnd.docker.distribution.manifest.v2+json");
            yield return (HttpMethod.Put, "/v2/stable/app/manifests/v1", content, []);
        }

        // Pagination nonsense.
        foreach (var n in new[] { "-1", "abc", "99999999999999999999" })
        {
            yield return (HttpMethod.Get, $"/v2/stable/app/tags/list?n={n}", null, []);
            yield return (HttpMethod.Get, $"/v2/_catalog?n={n}", null, []);
        }
    }

    private static async Task<string?> CheckSpecErrorAsync(HttpMethod method, HttpResponseMessage response)
    {
        var status = (int)response.StatusCode;
        if (status is < 400 or >= 500)
        {
            return $"status {status}, expected a 4xx";
        }

        if (method == HttpMethod.Head)
        {
            return null;
        }

        var body = await response.Content.ReadAsStringAsync();
        try
        {
            using var json = JsonDocument.Parse(body);
            var code = json.RootElement.GetProperty("errors")[0].GetProperty("code").GetString();
            return code is not null && s_specCodes.Contains(code) ? null : $"code '{code}' is not a spec code";
        }
        catch (Exception exception) when (exception is JsonException or KeyNotFoundException or InvalidOperationException or IndexOutOfRangeException)
        {
            return $"status {status} with a body that is not a spec error: {body[..Math.Min(body.Length, 200)]}";
        }
    }

    private async Task<string> SnapshotAsync(byte[] layer, string manifest)
    {
        var snapshot = new StringBuilder();
        foreach (var path in new[] { "/v2/_catalog", "/v2/stable/app/tags/list", "/v2/stable/app/manifests/v1", $"/v2/stable/app/blobs/{Digest.Compute(layer)}" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _token);
            request.Headers.Accept.ParseAdd("application/vnd.oci.image.manifest.v1+json");
            using var response = await _client.SendAsync(request);
            snapshot.Append(path).Append(' ').Append((int)response.StatusCode).Append(' ').AppendLine(await response.Content.ReadAsStringAsync());
        }

        var blobsOnDisk = Directory.EnumerateFiles(_factory.DataDir, "*", SearchOption.AllDirectories)
            .Where(f => f.Contains("blobs", StringComparison.Ordinal))
            .Select(f => Path.GetRelativePath(_factory.DataDir, f))
            .Order(StringComparer.Ordinal);
        snapshot.AppendJoin('\n', blobsOnDisk);
        Assert.Contains(manifest, snapshot.ToString(), StringComparison.Ordinal);
        return snapshot.ToString();
    }

    private async Task ExpectAsync(HttpMethod method, string path, HttpStatusCode expected, HttpContent content)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _token);
        using var response = await _client.SendAsync(request);
        Assert.True(expected == response.StatusCode, $"{method} {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    private static string Manifest(Digest config, int configSize, (Digest Digest, int Size)[] layers) =>
        $$"""{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{{config}}","size":{{configSize}}},"layers":[{{string.Join(',', layers.Select(l => $$"""{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{{l.Digest}}","size":{{l.Size}}}"""))}}]}""";

    private static StringContent ManifestContent(string json)
    {
        var content = new StringContent(json, Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/vnd.oci.image.manifest.v1+json");
        return content;
    }
}
