namespace Berth.Scheduler.Placement;

/// <summary>Placement settings.</summary>
internal sealed class PlacementOptions
{
    /// <summary>First port of the dynamic host port range (Docker's ephemeral range starts at 49153, as in ECS).</summary>
    public int DynamicPortFirst { get; init; } = 49153;

    /// <summary>Last port of the dynamic host port range.</summary>
    public int DynamicPortLast { get; init; } = 65535;
}
