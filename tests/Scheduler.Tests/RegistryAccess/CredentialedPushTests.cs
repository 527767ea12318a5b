using Berth.Scheduler.RegistryAccess;
using Berth.Scheduler.Sessions;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Berth.Scheduler.Tests.RegistryAccess;

/// <summary>
/// Which pushes may carry a registry credential: those go through the message path (AttachAsync); all others are
/// written as pre-encoded bytes, which hold no credential.
/// </summary>
public sealed class CredentialedPushTests
{
    private static DesiredDefinition Definition(string family, string image) =>
        new($"arn:berth:ecs:local:task-definition/{family}:1", $$"""{"family":"{{family}}","containerDefinitions":[{"name":"c","image":"{{image}}","memory":32}]}""");

    private static TaskRegistryCredentials Create(Uri? url)
    {
        var options = Options.Create(new RegistryAccessOptions { Url = url, Username = url is null ? null : "robot$pull", Password = url is null ? null : "s3cret" });
        var passwords = new RegistryLoginPasswords(new NoClients(), options, TimeProvider.System, NullLogger<RegistryLoginPasswords>.Instance);
        return new TaskRegistryCredentials(passwords, options);
    }

    [Fact]
    public void MayAttach_OnlyWhenADefinitionNamesTheTrustedRegistry()
    {
        var credentials = Create(new Uri("http://registry.test:5000/"));

        Assert.True(credentials.MayAttach([Definition("hub", "busybox:1"), Definition("web", "registry.test:5000/team/web:1")]));
        Assert.False(credentials.MayAttach([Definition("hub", "busybox:1"), Definition("other", "other.test:5000/web:1")]));
        Assert.False(credentials.MayAttach([]));
    }

    [Fact]
    public void MayAttach_NeverWithoutARegistry() =>
        Assert.False(Create(null).MayAttach([Definition("web", "registry.test:5000/team/web:1")]));

    private sealed class NoClients : IHttpClientFactory
    {
        public HttpClient CreateClient(string name) => throw new InvalidOperationException("No registry calls expected.");
    }
}
