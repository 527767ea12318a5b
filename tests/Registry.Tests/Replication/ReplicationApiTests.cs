using System.Net;
using System.Net.Http.Json;
using System.Text;
using Berth.Registry.Tests.Auth;
using Berth.Registry.Tests.Infrastructure;
using Berth.RegistryAdmin;

namespace Berth.Registry.Tests.Replication;

/// <summary>
/// The replication admin API on a registry in process: ECR's PutReplicationConfiguration / DescribeRegistry /
/// DescribeImageReplicationStatus shapes, ECR's validation errors, and a bad configuration harming nothing stored.
/// </summary>
public sealed class ReplicationApiTests : IDisposable
{
    private readonly AuthRegistryFactory _factory = new();

    public ReplicationApiTests()
    {
        _factory.Settings["Registry:Gc:Enabled"] = "false";
    }

    public void Dispose() => _factory.Dispose();

    private RegistryAdminClient Admin() => new(_factory.CreateClient(), "admin", _factory.AdminPassword);

    private static ReplicationConfiguration Valid(string url = "http://127.0.0.1:5999/") => new(
    [
        new ReplicationRule([new ReplicationDestination("eu-west-1", "dr", url, "robot$dr", "s3cret")], [new RepositoryFilter("prod/", "PREFIX_MATCH")]),
    ]);

    [Fact]
    public async Task Put_ThenDescribeRegistry_ShowsTheRulesWithoutPasswords_AndSurvivesARestart()
    {
        // Act
        var put = await Admin().PutReplicationConfigurationAsync(Valid(), CancellationToken.None);

        // Assert: the answer and DescribeRegistry show the rule, the password never.
        var destination = Assert.Single(Assert.Single(put.ReplicationConfiguration!.Rules!).Destinations!);
        Assert.Equal(("eu-west-1", "dr", "robot$dr"), (destination.Region, destination.RegistryId, destination.Username));
        Assert.Null(destination.Password);
        using var raw = await _factory.CreateClient().SendAsync(Get(ReplicationApiPaths.Registry));
        var json = await raw.Content.ReadAsStringAsync();
        Assert.DoesNotContain("s3cret", json, StringComparison.Ordinal);
        Assert.Contains("\"filterType\":\"PREFIX_MATCH\"", json, StringComparison.Ordinal);

        // A new instance on the same data reads it back.
        var password = _factory.AdminPassword;
        _factory.KeepDataDir = true;
        await _factory.DisposeAsync();
        var again = new AuthRegistryFactory();
        await using var _ = again;
        again.Settings["Registry:DataDir"] = _factory.DataDir;
        var described = await new RegistryAdminClient(again.CreateClient(), "admin", password).DescribeRegistryAsync(CancellationToken.None);
        Assert.Equal("prod/", Assert.Single(Assert.Single(described.ReplicationConfiguration.Rules!).RepositoryFilters!).Filter);
        await again.DisposeAsync();
        Directory.Delete(_factory.DataDir, recursive: true);
    }

    [Theory]
    [InlineData("""{"replicationConfiguration":{"rules":[{"destinations":[{"url":"http://a:1/"}],"repositoryFilters":[{"filter":"prod","filterType":"SUFFIX_MATCH"}]}]}}""",
        "ValidationException", "1 validation error detected: Value 'SUFFIX_MATCH' at 'replicationConfiguration.rules.1.member.repositoryFilters.1.member.filterType' failed to satisfy constraint: Member must satisfy enum value set: [PREFIX_MATCH]")]
    [InlineData("""{"replicationConfiguration":{"rules":[{"destinations":[{"url":"http://a:1/"}],"repositoryFilters":[{"filter":"Prod!","filterType":"PREFIX_MATCH"}]}]}}""",
        "ValidationException", "at 'replicationConfiguration.rules.1.member.repositoryFilters.1.member.filter' failed to satisfy constraint: Member must satisfy regular expression pattern")]
    [InlineData("""{"replicationConfiguration":{"rules":[{"repositoryFilters":[]}]}}""",
        "ValidationException", "2 validation errors detected: Value null at 'replicationConfiguration.rules.1.member.destinations' failed to satisfy constraint: Member must not be null; Value '[0 filters]' at 'replicationConfiguration.rules.1.member.repositoryFilters' failed to satisfy constraint: Member must have length greater than or equal to 1")]
    [InlineData("""{"replicationConfiguration":null}""",
        "ValidationException", "Value null at 'replicationConfiguration' failed to satisfy constraint: Member must not be null")]
    [InlineData("""{"replicationConfiguration":{"rules":[{"destinations":[{"url":"ftp://a/"}]}]}}""",
        "InvalidParameterException", "Invalid parameter at 'replicationConfiguration.rules.1.member.destinations.1.member.url'")]
    [InlineData("""{"replicationConfiguration":{"rules":[{"destinations":[{"url":"http://a:1/","username":"robot"}]}]}}""",
        "InvalidParameterException", "username and password go together")]
    [InlineData("""{"replicationConfiguration":{"rules":[{"destinations":[{"url":"http://a:1/","registryId":"x"},{"url":"http://b:1/","registryId":"x"}]}]}}""",
        "InvalidParameterException", "'x' names two different destination URLs")]
    [InlineData("""{"replicationConfiguration":""",
        "SerializationException", "not a PutReplicationConfiguration request")]
    public async Task Put_BadConfiguration_GetsEcrsErrorAndKeepsTheStoredOne(string body, string code, string message)
    {
        // Arrange: a configuration in force.
        await Admin().PutReplicationConfigurationAsync(Valid(), CancellationToken.None);

        // Act
        using var request = new HttpRequestMessage(HttpMethod.Put, ReplicationApiPaths.Configuration) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = AuthRegistryFactory.Basic("admin", _factory.AdminPassword);
        using var response = await _factory.CreateClient().SendAsync(request);

        // Assert
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = Assert.Single((await response.Content.ReadFromJsonAsync<RegistryErrorResponse>())!.Errors);
        Assert.Equal(code, error.Code);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
        var kept = await Admin().DescribeRegistryAsync(CancellationToken.None);
        Assert.Equal("dr", Assert.Single(Assert.Single(kept.ReplicationConfiguration.Rules!).Destinations!).RegistryId);
    }

    [Fact]
    public async Task Put_ElevenRules_IsRefusedAsEcrRefusesIt()
    {
        var rules = Enumerable.Range(0, 11).Select(i => new ReplicationRule([new ReplicationDestination(null, null, $"http://h{i}:1/")])).ToList();
        var refused = await Assert.ThrowsAsync<RegistryApiException>(() => Admin().PutReplicationConfigurationAsync(new ReplicationConfiguration(rules), CancellationToken.None));
        Assert.Equal("ValidationException", Assert.Single(refused.Errors).Code);
        Assert.Contains("Member must have length less than or equal to 10", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DescribeImageReplicationStatus_UnknownRepositoryOrImage_GetsEcrsNotFound()
    {
        var repository = await Assert.ThrowsAsync<RegistryApiException>(() =>
            Admin().DescribeImageReplicationStatusAsync("nope/app", new ImageIdentifier(null, "1"), CancellationToken.None));
        Assert.Equal("RepositoryNotFoundException", Assert.Single(repository.Errors).Code);

        var client = _factory.CreateClient();
        var token = await AuthRegistryFactory.TokenAsync(client, "admin", _factory.AdminPassword, "repository:prod/app:pull,push");
        client.DefaultRequestHeaders.Authorization = new("Bearer", token);
        var manifest = await client.PushImageBlobsAsync("prod/app", layerCount: 1);
        using (var pushed = await client.PutManifestAsync("prod/app", "1", manifest, RegistryTestClient.DockerManifest))
        {
            Assert.Equal(HttpStatusCode.Created, pushed.StatusCode);
        }

        var image = await Assert.ThrowsAsync<RegistryApiException>(() =>
            Admin().DescribeImageReplicationStatusAsync("prod/app", new ImageIdentifier(null, "2"), CancellationToken.None));
        Assert.Equal("ImageNotFoundException", Assert.Single(image.Errors).Code);

        // Pushed before any rule: the image exists and has no status.
        var none = await Admin().DescribeImageReplicationStatusAsync("prod/app", new ImageIdentifier(null, "1"), CancellationToken.None);
        Assert.Empty(none.ReplicationStatuses);
        Assert.StartsWith("sha256:", none.ImageId.ImageDigest, StringComparison.Ordinal);
    }

    private HttpRequestMessage Get(string path)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = AuthRegistryFactory.Basic("admin", _factory.AdminPassword);
        return request;
    }
}
