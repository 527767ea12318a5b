namespace Berth.Scheduler.Provisioning;

/// <summary>
/// Makes and retires the hosts Berth manages itself (the FARGATE capacity pool, host groups). Two real
/// implementations: <c>lab</c> (network-namespace hosts on this machine) and <c>exec</c> (operator scripts that make
/// VMs). docs/provisioning.md is the contract in prose.
/// </summary>
/// <remarks>
/// Every host has a name the caller chooses and records before it calls <see cref="CreateAsync"/>: whatever
/// happens to the create (it fails, it times out, the scheduler dies in the middle), the caller can always call
/// <see cref="DestroyAsync"/> with that name, and <see cref="ListAsync"/> shows what exists after a restart.
/// <see cref="HostProvisioning"/> wraps a provisioner with the caller's side of that bargain (destroy after a failed
/// create, retries with backoff, orphan collection). Each call is bounded by the provisioner's configured timeout
/// and by the caller's token; a timeout is a <see cref="ProvisionerException"/> of kind
/// <see cref="ProvisionerErrorKind.TimedOut"/>, a cancellation an <see cref="OperationCanceledException"/>.
/// </remarks>
internal interface IHostProvisioner
{
    /// <summary>The provisioner's kind as configured and shown to users: <c>lab</c> or <c>exec</c>.</summary>
    string Kind { get; }

    /// <summary>
    /// Makes a host whose agent registers with <see cref="HostRequest.SchedulerUrl"/> using the request's one-use join
    /// token. Returns once the provisioner considers the host made (the lab waits for the registration itself).
    /// Throws <see cref="ProvisionerException"/> with the provisioner's own output when it fails or times out; the
    /// host may then be half-made, and only <see cref="DestroyAsync"/> is sure to clear it.
    /// </summary>
    Task<ProvisionedHost> CreateAsync(HostRequest request, CancellationToken cancellationToken);

    /// <summary>Removes everything of host <paramref name="name"/>. Idempotent: a host that does not exist is gone already.</summary>
    Task DestroyAsync(string name, CancellationToken cancellationToken);

    /// <summary>Every host the provisioner knows, half-made and broken ones included (their <see cref="ProvisionedHost.State"/> says so).</summary>
    Task<IReadOnlyList<ProvisionedHost>> ListAsync(CancellationToken cancellationToken);
}
