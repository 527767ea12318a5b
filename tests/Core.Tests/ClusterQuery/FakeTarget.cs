using Berth.Core.ClusterQuery;

namespace Berth.Core.Tests.ClusterQuery;

/// <summary>A hand-written instance for query tests; attributes are given with any spelling and normalized.</summary>
internal sealed class FakeTarget : IClusterQueryTarget
{
    private readonly Dictionary<string, string?> _attributes = new(StringComparer.Ordinal);

    public FakeTarget(params (string Name, string? Value)[] attributes)
    {
        foreach (var (name, value) in attributes)
        {
            _attributes[AttributeNames.Normalize(name)] = value;
        }
    }

    public string InstanceId { get; init; } = "i-00000001";

    public bool AgentConnected { get; init; } = true;

    public string? AgentVersion { get; init; } = "1.20.0";

    public DateTimeOffset RegisteredAt { get; init; } = new(2018, 6, 18, 22, 28, 28, TimeSpan.Zero);

    public int RunningTasksCount { get; init; }

    public string[] Groups { get; init; } = [];

    public IEnumerable<string> TaskGroups => Groups;

    public bool HasTaskGroup(string group) => Groups.Contains(group);

    public bool TryGetAttribute(string name, out string? value) => _attributes.TryGetValue(name, out value);
}
