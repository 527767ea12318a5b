namespace Berth.TestSupport;

/// <summary>
/// The two tokens a scheduler writes into its data directory on its first start: agents register with the join token,
/// the admin token calls the API.
/// </summary>
public sealed record SchedulerTokens(string Join, string Admin)
{
    /// <summary>Waits until the scheduler with <paramref name="dataDirectory"/> has written its tokens, and reads them.</summary>
    /// <remarks>The scheduler writes the admin token first (src/Scheduler/Security/ApiTokens.cs): once the join token is there, both are.</remarks>
    public static async Task<SchedulerTokens> ReadAsync(string dataDirectory, TimeSpan timeout)
    {
        var join = Path.Combine(dataDirectory, "join-token");
        await TaskTimeouts.WaitUntilAsync(() => Task.FromResult(File.Exists(join) && new FileInfo(join).Length > 0), timeout, "the scheduler's join token");
        return new((await File.ReadAllTextAsync(join)).Trim(), (await File.ReadAllTextAsync(Path.Combine(dataDirectory, "admin-token"))).Trim());
    }
}
