using Berth.Core.Hosting;
using Berth.TestSupport;

namespace Berth.Cli.Tests.Up;

/// <summary>
/// The file names and the <c>--data-dir</c> switch that docker-compose.yml, the agent's installer and the README spell
/// out by hand stay those the code defines (<see cref="WellKnownFiles"/>).
/// </summary>
public sealed class WellKnownFilesTests
{
    private static string Read(params string[] path) => File.ReadAllText(Path.Combine([LabHosts.RepositoryRoot(), .. path]));

    [Fact]
    public void Compose_ReadsTheJoinTokenByItsName_AndGivesEveryServiceADataDir()
    {
        var compose = Read("docker-compose.yml");

        Assert.Contains($"/scheduler/{WellKnownFiles.JoinToken}", compose, StringComparison.Ordinal);
        // The four long-running deployables: registry, scheduler, agent and load balancer (the one-shot setup steps keep nothing).
        Assert.Equal(4, compose.Split("--data-dir").Length - 1);
    }

    [Theory]
    [InlineData("docker-compose.yml")]
    [InlineData("README.md")]
    [InlineData("deploy", "agent", "install.sh")]
    [InlineData("docs", "agent.md")]
    [InlineData("docs", "cli.md")]
    public void NothingSpellsTheOldAgentSwitch(params string[] path)
    {
        var text = Read(path);

        Assert.DoesNotContain("--state-dir", text, StringComparison.Ordinal);
        Assert.DoesNotContain("\"StateDirectory\"", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Readme_NamesTheFilesBerthUpLeaves()
    {
        var readme = Read("README.md");

        Assert.Contains($"data/scheduler/{WellKnownFiles.JoinToken}", readme, StringComparison.Ordinal);
        Assert.Contains(WellKnownFiles.InitialAdminPassword, readme, StringComparison.Ordinal);
    }
}
