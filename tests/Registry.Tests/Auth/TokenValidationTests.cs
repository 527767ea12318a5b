using System.Globalization;
using System.Text;
using Berth.Registry.Auth;
using Berth.Registry.Auth.Scopes;
using Berth.Registry.Auth.Tokens;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Berth.Registry.Tests.Auth;

public sealed class TokenValidationTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("berth-auth-");
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-06-01T12:00:00Z", CultureInfo.InvariantCulture));
    private readonly AuthOptions _options = new();
    private readonly SigningKeyStore _keys;
    private readonly TokenIssuer _issuer;
    private readonly RegistryTokenHandler _handler;

    public TokenValidationTests()
    {
        _keys = new SigningKeyStore(Path.Combine(_dir.FullName, "key.pem"));
        _issuer = new TokenIssuer(_keys, Options.Create(_options), _time);
        _handler = new RegistryTokenHandler();
    }

    public void Dispose() => _dir.Delete(recursive: true);

    private Task<TokenValidationResult> ValidateAsync(string token) =>
        _handler.ValidateTokenAsync(token, TokenValidation.Parameters(_keys, _options, _issuer));

    [Fact]
    public async Task IssuedToken_Validates_AndCarriesItsAccess()
    {
        var issued = _issuer.IssueAccessToken("alice", [new ResourceScope("repository", "team-a/web", RegistryActions.Pull | RegistryActions.Push)]);

        var result = await ValidateAsync(issued.Token);

        Assert.True(result.IsValid, result.Exception?.Message);
        var identity = Assert.IsType<RegistryTokenIdentity>(result.ClaimsIdentity);
        Assert.Equal("alice", identity.Subject);
        Assert.True(identity.Allows("repository", "team-a/web", RegistryActions.Push));
        Assert.False(identity.Allows("repository", "team-a/web", RegistryActions.Delete));
        Assert.False(identity.Allows("repository", "team-b/web", RegistryActions.Pull));
    }

    [Fact]
    public void IssuedToken_HasEveryClaimOfTheTokenSpec()
    {
        var issued = _issuer.IssueAccessToken("alice", [new ResourceScope("repository", "app", RegistryActions.Pull)]);
        var jwt = new JsonWebToken(issued.Token);

        Assert.Equal("ES256", jwt.Alg);
        Assert.Equal(_keys.Key.KeyId, jwt.Kid);
        foreach (var claim in new[] { "iss", "sub", "aud", "exp", "nbf", "iat", "jti", "access" })
        {
            Assert.True(jwt.TryGetPayloadValue<object>(claim, out _), $"missing claim {claim}");
        }

        Assert.Equal(300, issued.ExpiresIn);
    }

    [Fact]
    public async Task ExpiredToken_IsRejected_EvenAfterItValidatedOnce()
    {
        var issued = _issuer.IssueAccessToken("alice", []);
        Assert.True((await ValidateAsync(issued.Token)).IsValid);

        _time.Advance(_options.TokenLifetime + TimeSpan.FromMinutes(1));

        Assert.False((await ValidateAsync(issued.Token)).IsValid);
    }

    [Fact]
    public async Task TokenSignedByAnotherKey_IsRejected()
    {
        using var otherDir = new TempDir();
        var otherIssuer = new TokenIssuer(new SigningKeyStore(Path.Combine(otherDir.Path, "key.pem")), Options.Create(_options), _time);

        Assert.False((await ValidateAsync(otherIssuer.IssueAccessToken("alice", []).Token)).IsValid);
    }

    [Fact]
    public async Task AlgNoneToken_IsRejected()
    {
        var payload = $$"""{"iss":"berth-registry","sub":"alice","aud":"berth-registry","exp":{{_time.GetUtcNow().AddMinutes(5).ToUnixTimeSeconds()}},"access":[{"type":"repository","name":"app","actions":["push"]}]}""";
        var token = $"{Base64Url("""{"alg":"none","typ":"JWT"}""")}.{Base64Url(payload)}.";

        Assert.False((await ValidateAsync(token)).IsValid);
    }

    [Fact]
    public async Task WrongAudienceOrIssuer_IsRejected()
    {
        var other = new TokenIssuer(_keys, Options.Create(new AuthOptions { Service = "another-registry" }), _time);
        var otherIssuer = new TokenIssuer(_keys, Options.Create(new AuthOptions { Issuer = "someone-else" }), _time);

        Assert.False((await ValidateAsync(other.IssueAccessToken("alice", []).Token)).IsValid);
        Assert.False((await ValidateAsync(otherIssuer.IssueAccessToken("alice", []).Token)).IsValid);
    }

    [Fact]
    public async Task LoginPassword_IsNotABearerToken_AndABearerTokenIsNotALoginPassword()
    {
        var (password, expiresAt) = _issuer.IssueLoginPassword("alice");
        var bearer = _issuer.IssueAccessToken("alice", []).Token;

        Assert.Equal(_time.GetUtcNow() + TimeSpan.FromHours(12), expiresAt);
        Assert.False((await ValidateAsync(password)).IsValid);
        Assert.Equal("alice", await _issuer.ValidateLoginPasswordAsync(password));
        Assert.Null(await _issuer.ValidateLoginPasswordAsync(bearer));

        _time.Advance(TimeSpan.FromHours(13));
        Assert.Null(await _issuer.ValidateLoginPasswordAsync(password));
    }

    [Fact]
    public async Task TamperedPayload_IsRejected()
    {
        var parts = _issuer.IssueAccessToken("alice", [new ResourceScope("repository", "app", RegistryActions.Pull)]).Token.Split('.');
        var payload = Encoding.UTF8.GetString(Base64UrlEncoder.DecodeBytes(parts[1])).Replace("\"pull\"", "\"push\"", StringComparison.Ordinal);

        Assert.False((await ValidateAsync($"{parts[0]}.{Base64Url(payload)}.{parts[2]}")).IsValid);
    }

    [Fact]
    public void SigningKey_SurvivesARestart_AndIsOwnerOnly()
    {
        var path = Path.Combine(_dir.FullName, "key.pem");
        var again = new SigningKeyStore(path);

        Assert.Equal(_keys.Key.KeyId, again.Key.KeyId);
        Assert.True(OperatingSystem.IsLinux());
        if (OperatingSystem.IsLinux())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        }
    }

    private static string Base64Url(string text) => Base64UrlEncoder.Encode(Encoding.UTF8.GetBytes(text));

    private sealed class TempDir : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("berth-auth-").FullName;

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
