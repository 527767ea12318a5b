namespace Berth.Scheduler.Provisioning;

/// <summary>Why a provisioner call failed.</summary>
internal enum ProvisionerErrorKind
{
    /// <summary>The provisioner ran and failed (a non-zero exit, output that is not the contract's).</summary>
    Failed,

    /// <summary>The call ran past its timeout and was killed.</summary>
    TimedOut,

    /// <summary>The provisioner refused the request itself (exit 64, or a request that fails validation): a retry cannot help.</summary>
    InvalidRequest,
}

/// <summary>A provisioner call that failed, with what the provisioner said (its stdout and stderr, bounded).</summary>
internal sealed class ProvisionerException : Exception
{
    public ProvisionerException(string message, ProvisionerErrorKind kind, string output = "", Exception? inner = null)
        : base(output.Length == 0 ? message : $"{message}\n{output}", inner)
    {
        Kind = kind;
        Summary = message;
        Output = output;
    }

    public ProvisionerErrorKind Kind { get; }

    /// <summary>The message without the provisioner's output.</summary>
    public string Summary { get; }

    /// <summary>The provisioner's own output (its stderr and stdout, the last part when long).</summary>
    public string Output { get; }

    /// <summary>
    /// Whether the host may still exist (a create failed and so did the destroy after it, or a destroy failed): the
    /// caller keeps it on its books and destroys it later (<see cref="HostProvisioning.CollectOrphansAsync"/>).
    /// </summary>
    public bool HostMayRemain { get; init; }

    /// <summary>Whether trying again could succeed (everything but <see cref="ProvisionerErrorKind.InvalidRequest"/>).</summary>
    public bool Retryable => Kind != ProvisionerErrorKind.InvalidRequest;
}
