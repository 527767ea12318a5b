using Berth.Agent.Runtime;
using Berth.Agent.Tasks;

namespace Berth.Agent.Tests.Tasks;

public sealed class ImageCleanupPlannerTests
{
    private static readonly DateTimeOffset s_now = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Candidates_AreOldUnusedImagesThisAgentRan_LeastRecentlyUsedFirst()
    {
        ImageInfo[] images =
        [
            Image("a", "app:1"), Image("b", "app:2"), Image("c", "app:3"), Image("d", "db:1"),
            Image("e", "foreign:1"), Image("f", "recent:1"), Image("g", "task-wants:1"),
        ];
        var lastUsed = new Dictionary<string, DateTimeOffset>
        {
            ["app:1"] = s_now.AddHours(-5),
            ["app:2"] = s_now.AddHours(-9),
            ["app:3"] = s_now.AddHours(-7),
            ["db:1"] = s_now.AddHours(-20),
            ["recent:1"] = s_now.AddMinutes(-10),
            ["task-wants:1"] = s_now.AddHours(-30),
        };

        var candidates = ImageCleanupPlanner.Candidates(images, lastUsed, inUseImageIds: new HashSet<string> { "d" }, inUseReferences: new HashSet<string> { "task-wants:1" }, s_now, TimeSpan.FromHours(1));

        // d is used by a container, e was never run by this agent, f is too recent, g is wanted by a task.
        Assert.Equal(["b", "c", "a"], candidates.Select(i => i.Id));
    }

    private static ImageInfo Image(string id, string tag) => new(id, [tag], s_now.AddDays(-3), 1000);
}
