using Berth.Registry.Auth.Credentials;
using Berth.Registry.Auth.Scopes;

namespace Berth.Registry.Tests.Auth;

public sealed class ResourceScopeTests
{
    [Fact]
    public void ParseAll_RepeatedAndSpaceSeparatedScopes_AllParsed()
    {
        var scopes = ResourceScope.ParseAll(["repository:team-a/web:pull,push", "repository:base:pull registry:catalog:*"]);

        Assert.Equal(3, scopes.Count);
        Assert.Equal(new ResourceScope("repository", "team-a/web", RegistryActions.Pull | RegistryActions.Push), scopes[0]);
        Assert.Equal(new ResourceScope("repository", "base", RegistryActions.Pull), scopes[1]);
        Assert.True(scopes[2].IsCatalog);
    }

    [Fact]
    public void TryParse_NameWithHostAndPort_KeepsTheColonInTheName()
    {
        Assert.True(ResourceScope.TryParse("repository:localhost:5000/app:pull", out var scope));
        Assert.Equal("localhost:5000/app", scope.Name);
        Assert.Equal(RegistryActions.Pull, scope.Actions);
    }

    [Theory]
    [InlineData("")]
    [InlineData("repository")]
    [InlineData("repository:app")]
    [InlineData(":app:pull")]
    [InlineData("repository::pull")]
    public void TryParse_Malformed_Rejected(string value) => Assert.False(ResourceScope.TryParse(value, out _));

    [Fact]
    public void TryParse_UnknownActions_AreIgnored()
    {
        Assert.True(ResourceScope.TryParse("repository:app:pull,frobnicate", out var scope));
        Assert.Equal(RegistryActions.Pull, scope.Actions);
        Assert.Equal("repository:app:pull", scope.ToString());
    }

    [Theory]
    [InlineData("*", "anything/at/all", true)]
    [InlineData("team-a/*", "team-a/web", true)]
    [InlineData("team-a/*", "team-a/web/api", true)]
    [InlineData("team-a/*", "team-ab/web", false)]
    [InlineData("team-a/*", "team-a", false)]
    [InlineData("team-a/web", "team-a/web", true)]
    [InlineData("team-a/web", "team-a/web2", false)]
    public void NamespacePattern_Matches(string pattern, string repository, bool expected) =>
        Assert.Equal(expected, NamespacePattern.Matches(pattern, repository));

    [Fact]
    public void Grant_IsTheIntersectionOfAskedAndAllowed()
    {
        var robot = new Principal("robot$ci", PrincipalKind.Robot, IsAdmin: false);
        var rules = new AccessRules(robot, [("team-a/*", RegistryActions.Pull | RegistryActions.Push), ("shared/base", RegistryActions.Pull)], ["public/*"]);

        var granted = rules.Grant(ResourceScope.ParseAll([
            "repository:team-a/web:pull,push,delete",
            "repository:shared/base:pull,push",
            "repository:team-b/web:pull",
            "repository:public/tools:pull,push",
            "repository:Bad..Name:pull",
        ]));

        Assert.Equal(
            ["repository:team-a/web:pull,push", "repository:shared/base:pull", "repository:public/tools:pull"],
            granted.Select(g => g.ToString()));
    }

    [Fact]
    public void Grant_Anonymous_GetsOnlyPublicPullAndNoCatalog()
    {
        var rules = new AccessRules(null, [], ["public/*"]);

        var granted = rules.Grant(ResourceScope.ParseAll(["repository:public/x:pull,push registry:catalog:* repository:private/x:pull"]));

        Assert.Equal(["repository:public/x:pull"], granted.Select(g => g.ToString()));
    }

    [Fact]
    public void Grant_AdminActionImpliesEverything_AndAdminsGetAll()
    {
        var owner = new AccessRules(new Principal("alice", PrincipalKind.User, false), [("team-a/*", RegistryActions.Admin)], []);
        var admin = new AccessRules(new Principal("root", PrincipalKind.User, true), [], []);

        Assert.Equal(RegistryActions.All, owner.AllowedOn("team-a/x"));
        Assert.Equal(RegistryActions.None, owner.AllowedOn("team-b/x"));
        Assert.Equal("repository:any/thing:pull,push,delete", admin.Grant(ResourceScope.ParseAll(["repository:any/thing:*"])).Single().ToString());
    }
}
