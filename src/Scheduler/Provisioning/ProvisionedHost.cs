namespace Berth.Scheduler.Provisioning;

/// <summary>Where a host is in its life, as its provisioner sees it.</summary>
internal enum ProvisionedHostState
{
    /// <summary>The provisioner reported a state this version does not know.</summary>
    Unknown,

    /// <summary>A create is under way.</summary>
    Creating,

    /// <summary>Made and (as far as the provisioner can tell) alive.</summary>
    Running,

    /// <summary>Half-made or broken: a create that failed or died, a host whose parts crashed. Destroy it.</summary>
    Failed,
}

/// <summary>A host a provisioner made (or began to make).</summary>
/// <param name="Name">The caller's name for it (<see cref="HostRequest.Name"/>).</param>
/// <param name="State">Where it is in its life.</param>
/// <param name="Address">Its address as the provisioner knows it; empty when unknown.</param>
/// <param name="ProviderId">The provisioner's own id for it (a VM id, a lab slot); empty when none.</param>
/// <param name="ContainerInstanceArn">The container instance its agent registered as, when the provisioner knows it (the lab does); else empty, and the caller finds the instance by the <see cref="HostRequest.HostNameAttribute"/> attribute.</param>
internal sealed record ProvisionedHost(
    string Name,
    ProvisionedHostState State,
    string Address = "",
    string ProviderId = "",
    string ContainerInstanceArn = "");
