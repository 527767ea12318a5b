namespace Berth.Scheduler.Fargate;

/// <summary>
/// The <c>FargatePool</c> section: the hosts Berth makes for each cluster's FARGATE capacity provider (used only when a
/// host provisioner is configured, <c>Provisioning:Kind</c>).
/// </summary>
internal sealed class FargatePoolOptions
{
    public const string Section = "FargatePool";

    /// <summary>
    /// False keeps FARGATE tasks on the user's instances even with a provisioner configured (the behaviour without one),
    /// for an installation whose provisioner is only for host groups.
    /// </summary>
    public bool Enabled { get; set; } = true;

    /// <summary>The most hosts a cluster's pool may have (its host group's maximum size).</summary>
    public int MaxHosts { get; set; } = 10;

    /// <summary>
    /// How long the pool must have had more hosts than its tasks need before it retires the empty ones (managed
    /// scaling's scale-in wait for the pool; the user's providers wait <c>CapacityProviders:ScaleInAfter</c>).
    /// </summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The pool hosts' instance type attribute (<c>berth.instance-type</c>); empty for none.</summary>
    public string InstanceType { get; set; } = "";

    /// <summary>The zones the pool spreads its hosts over (<c>berth.zone</c>), in order; empty for hosts without a zone.</summary>
    public List<string> Zones { get; set; } = [];
}
