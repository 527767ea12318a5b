namespace Berth.TestSupport;

/// <summary>
/// The containers an agent made under one scope (<c>--agent-scope</c>: its containers' <c>berth.agent</c> label) on the
/// machine's own engine, for a test's clean-up once the agent is gone.
/// </summary>
public static class AgentScopeContainers
{
    /// <summary>Removes every container of <paramref name="scope"/>, running or not, with its anonymous volumes.</summary>
    public static async Task RemoveAsync(string scope)
    {
        var left = await ProcessRunner.RunAsync("docker", ["ps", "-aq", "--filter", $"label=berth.agent={scope}"]);
        var ids = left.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (ids.Length > 0)
        {
            await ProcessRunner.RunAsync("docker", ["rm", "-f", "-v", .. ids]);
        }
    }
}
