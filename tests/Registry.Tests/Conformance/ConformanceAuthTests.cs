using System.Net;
using System.Security.Cryptography;
using static Berth.Registry.Tests.Conformance.ConformanceClient;

namespace Berth.Registry.Tests.Conformance;

/// <summary>
/// What token auth adds to the conformance workflows: a caller refused a scope is told so with a 401 it can act on,
/// and a mount never reaches content the caller's account may not read, with or without <c>from</c>.
/// </summary>
public sealed class ConformanceAuthTests(TokenConformanceRegistry registry) : IClassFixture<TokenConformanceRegistry>
{
    private readonly string _run = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));

    [Theory]
    [InlineData(TokenMode.Cached)]
    [InlineData(TokenMode.PerRequest)]
    public async Task PushOutsideTheAccountsNamespace_Is401InsufficientScope_NamingTheScope(TokenMode mode)
    {
        var (http, handler) = registry.CreateClient(mode);
        using var _ = http;
        var client = new ConformanceClient(http);
        var repository = $"outside/push-{_run}";

        using var post = await client.SendAsync(HttpMethod.Post, $"/v2/{repository}/blobs/uploads/");

        // The client followed the challenge, got a token without push (the account has none there) and was refused
        // again: 401 (so that a client may try for a better token), DENIED, insufficient_scope, the scope it lacks.
        await ExpectErrorAsync(post, HttpStatusCode.Unauthorized, "DENIED");
        var challenge = post.Headers.WwwAuthenticate.ToString();
        Assert.Contains($"scope=\"repository:{repository}:pull,push\"", challenge, StringComparison.Ordinal);
        Assert.Contains("error=\"insufficient_scope\"", challenge, StringComparison.Ordinal);
        Assert.Single(handler.Exchanges);
    }

    [Theory]
    [InlineData(TokenMode.Cached)]
    [InlineData(TokenMode.PerRequest)]
    public async Task Mount_FromARepositoryTheAccountCannotRead_BecomesAnUpload_WithoutAChallengeLoop(TokenMode mode)
    {
        var (digest, bytes) = await PushOutsideAsync();
        var (http, handler) = registry.CreateClient(mode);
        using var _ = http;
        var client = new ConformanceClient(http);
        var target = $"{ConformanceRegistry.Namespace}/thief-{_run}";

        using var withFrom = await client.SendAsync(HttpMethod.Post, $"/v2/{target}/blobs/uploads/?mount={digest}&from=outside/secret-{_run}");
        using var withoutFrom = await client.SendAsync(HttpMethod.Post, $"/v2/{target}/blobs/uploads/?mount={digest}");

        await ExpectAsync(withFrom, HttpStatusCode.Accepted);
        await ExpectAsync(withoutFrom, HttpStatusCode.Accepted);
        Assert.All(handler.Exchanges, e => Assert.True(e.Challenges.Count <= 1, $"{e.Method} {e.PathAndQuery} met {e.Challenges.Count} challenges"));
        using var head = await client.SendAsync(HttpMethod.Head, BlobPath(target, digest));
        await ExpectAsync(head, HttpStatusCode.NotFound);
        // The session the refused mount started takes the upload, as the spec says.
        using var put = await client.SendAsync(HttpMethod.Put, WithDigest(Location(withFrom), digest), Octets(bytes));
        await ExpectAsync(put, HttpStatusCode.Created);
    }

    private async Task<(string Digest, byte[] Bytes)> PushOutsideAsync()
    {
        using var admin = registry.CreateAdminClient();
        var bytes = RandomNumberGenerator.GetBytes(300);
        var digest = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes));
        await new ConformanceClient(admin).PushBlobAsync($"outside/secret-{_run}", digest, bytes, BlobPush.PostOnly);
        return (digest, bytes);
    }
}
