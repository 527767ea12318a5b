using Microsoft.Extensions.Options;

namespace Berth.Scheduler.Provisioning;

/// <summary>
/// The caller's side of the provisioner contract, in one place for the capacity pool and host groups: a create that
/// fails, times out or is cancelled is destroyed before anything else happens, so no half-made host stays behind;
/// failures are retried with exponential backoff (<c>Provisioning:CreateAttempts</c>, <c>RetryBackoff</c>); destroys
/// are retried too; and after a restart <see cref="CollectOrphansAsync"/> destroys what the caller does not know.
/// </summary>
/// <remarks>
/// A provisioned host's agent may register before its create fails (a timeout after the registration): the caller
/// must deregister the container instance whose <see cref="HostRequest.HostNameAttribute"/> names the host after a
/// failed create and after every destroy. That is the scheduler state's business, not the provisioner's.
/// </remarks>
internal sealed partial class HostProvisioning(IHostProvisioner provisioner, IOptions<ProvisioningOptions> options, TimeProvider time, ILogger<HostProvisioning> logger)
{
    public IHostProvisioner Provisioner => provisioner;

    /// <summary>
    /// Creates host <see cref="HostRequest.Name"/>, retrying with backoff. Every failed attempt is destroyed first.
    /// Throws <see cref="ProvisionerException"/> when the last attempt fails (with
    /// <see cref="ProvisionerException.HostMayRemain"/> set if its destroy failed too), and
    /// <see cref="OperationCanceledException"/> after destroying the attempt the cancellation interrupted.
    /// </summary>
    public async Task<ProvisionedHost> CreateAsync(HostRequest request, CancellationToken cancellationToken)
    {
        if (request.Validate() is { } problem)
        {
            throw new ProvisionerException($"create {request.Name}: {problem}", ProvisionerErrorKind.InvalidRequest);
        }

        var attempts = options.Value.CreateAttempts;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await provisioner.CreateAsync(request, cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // The cancellation is the caller's; the half-made host is still ours to clear, without that token.
                LogCreateCancelled(logger, request.Name);
                await DestroyAfterFailedCreateAsync(request.Name, null);
                throw;
            }
            catch (Exception caught) when (caught is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                var e = AsProvisionerFailure(caught, $"create {request.Name}");
                LogCreateFailed(logger, request.Name, attempt, attempts, e.Summary);
                await DestroyAfterFailedCreateAsync(request.Name, e);
                if (!e.Retryable || attempt >= attempts)
                {
                    throw e;
                }

                await Task.Delay(Backoff(attempt), time, cancellationToken);
            }
        }
    }

    /// <summary>Destroys host <paramref name="name"/>, retrying with backoff; <see cref="ProvisionerException.HostMayRemain"/> is set when all attempts fail.</summary>
    public async Task DestroyAsync(string name, CancellationToken cancellationToken)
    {
        var attempts = options.Value.DestroyAttempts;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await provisioner.DestroyAsync(name, cancellationToken);
                return;
            }
            catch (Exception caught) when (caught is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                var e = AsProvisionerFailure(caught, $"destroy {name}");
                LogDestroyFailed(logger, name, attempt, attempts, e.Summary);
                if (!e.Retryable || attempt >= attempts)
                {
                    throw new ProvisionerException($"destroy {name} failed {attempt} time(s): {e.Summary}", e.Kind, e.Output, e) { HostMayRemain = true };
                }

                await Task.Delay(Backoff(attempt), time, cancellationToken);
            }
        }
    }

    /// <summary>
    /// After a restart: lists the provisioner's hosts and destroys each one <paramref name="keep"/> does not claim
    /// (hosts the caller has no record of, and half-made ones it decides against). Returns the names destroyed;
    /// throws after trying them all when some destroy failed.
    /// </summary>
    public async Task<IReadOnlyList<string>> CollectOrphansAsync(Func<ProvisionedHost, bool> keep, CancellationToken cancellationToken)
    {
        IReadOnlyList<ProvisionedHost> hosts;
        try
        {
            hosts = await provisioner.ListAsync(cancellationToken);
        }
        catch (Exception caught) when (caught is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            throw AsProvisionerFailure(caught, "list");
        }

        var destroyed = new List<string>();
        var failures = new List<ProvisionerException>();
        foreach (var host in hosts.Where(h => !keep(h)))
        {
            LogOrphan(logger, host.Name, host.State);
            try
            {
                await DestroyAsync(host.Name, cancellationToken);
                destroyed.Add(host.Name);
            }
            catch (ProvisionerException e)
            {
                failures.Add(e);
            }
        }

        if (failures.Count > 0)
        {
            throw new ProvisionerException(
                $"{failures.Count} orphan host(s) could not be destroyed: {string.Join("; ", failures.Select(f => f.Summary))}",
                failures[0].Kind,
                string.Join('\n', failures.Select(f => f.Output)),
                new AggregateException(failures)) { HostMayRemain = true };
        }

        return destroyed;
    }

    /// <summary>
    /// The contract's failure for anything a provisioner throws. <see cref="ProvisionerException"/> is the contract;
    /// anything else (a provisioner's bug, a transport error in one that runs in-process, its own timeout) is a failed
    /// call as well, retried like one: it must never escape into the loops that call this and end the scheduler.
    /// </summary>
    private static ProvisionerException AsProvisionerFailure(Exception caught, string call) =>
        caught as ProvisionerException
        ?? new ProvisionerException($"{call}: the provisioner failed unexpectedly: {caught.GetType().Name}: {caught.Message}", ProvisionerErrorKind.Failed, inner: caught);

    /// <summary>The wait before retry number <paramref name="attempt"/>: RetryBackoff doubled per attempt, capped.</summary>
    internal TimeSpan Backoff(int attempt)
    {
        var o = options.Value;
        var ticks = o.RetryBackoff.Ticks * Math.Pow(2, Math.Min(attempt - 1, 30));
        return ticks >= o.MaxRetryBackoff.Ticks ? o.MaxRetryBackoff : TimeSpan.FromTicks((long)ticks);
    }

    private async Task DestroyAfterFailedCreateAsync(string name, ProvisionerException? createFailure)
    {
        try
        {
            // Not the caller's token: a cancelled create still gets cleared (each attempt is bounded by DestroyTimeout).
            await DestroyAsync(name, CancellationToken.None);
        }
        catch (ProvisionerException destroyFailure)
        {
            var summary = createFailure is null
                ? $"create {name} was cancelled and its destroy failed: {destroyFailure.Summary}"
                : $"create {name} failed ({createFailure.Summary}) and its destroy failed too: {destroyFailure.Summary}";
            throw new ProvisionerException(summary, createFailure?.Kind ?? destroyFailure.Kind,
                string.Join('\n', new[] { createFailure?.Output, destroyFailure.Output }.Where(o => !string.IsNullOrEmpty(o))),
                destroyFailure) { HostMayRemain = true };
        }
    }
}
