using System.Text.Json;
using Microsoft.Extensions.Options;

namespace Berth.Scheduler.Provisioning.Exec;

/// <summary>
/// Hosts made by three operator scripts (<c>Provisioning:Exec</c>), typically VMs (Proxmox, libvirt, a cloud CLI)
/// that run deploy/agent/install.sh with the join token. The contract (docs/provisioning.md): the host's name as the
/// first argument, the request in <c>BERTH_*</c> variables and as JSON on stdin, JSON on stdout, diagnostics on
/// stderr, exit 0 for done, 64 for a request the script refuses, anything else for a failure.
/// </summary>
internal sealed partial class ExecHostProvisioner(IOptions<ProvisioningOptions> options, TimeProvider time, ILogger<ExecHostProvisioner> logger) : IHostProvisioner
{
    /// <summary>The exit code that means "this request is wrong; do not retry" (sysexits' EX_USAGE).</summary>
    public const int InvalidRequestExitCode = 64;

    public string Kind => "exec";

    public async Task<ProvisionedHost> CreateAsync(HostRequest request, CancellationToken cancellationToken)
    {
        if (request.Validate() is { } problem)
        {
            throw new ProvisionerException($"create {request.Name}: {problem}", ProvisionerErrorKind.InvalidRequest);
        }

        var o = options.Value;
        var env = Environment(request.Name);
        env["BERTH_CLUSTER"] = request.Cluster;
        env["BERTH_SCHEDULER_URL"] = request.SchedulerUrl.ToString().TrimEnd('/');
        env["BERTH_JOIN_TOKEN"] = request.JoinToken;
        env["BERTH_ZONE"] = request.Zone;
        env["BERTH_INSTANCE_TYPE"] = request.InstanceType;
        env["BERTH_ATTRIBUTES"] = string.Join(',', request.AgentAttributes.Select(a => $"{a.Key}={a.Value}"));
        var what = $"exec create {request.Name}";
        LogRunning(logger, "create", request.Name);
        var output = await RunAsync(what, o.Exec.CreateScript!, [request.Name], env,
            JsonSerializer.Serialize(HostRequestDocument.From(request), ProvisionerJsonContext.Default.HostRequestDocument),
            o.CreateTimeout, cancellationToken);
        return ProvisionerJson.ParseCreated(what, request.Name, output);
    }

    public async Task DestroyAsync(string name, CancellationToken cancellationToken)
    {
        if (!HostRequest.IsValidName(name))
        {
            throw new ProvisionerException($"destroy: '{name}' is not a host name.", ProvisionerErrorKind.InvalidRequest);
        }

        LogRunning(logger, "destroy", name);
        await RunAsync($"exec destroy {name}", options.Value.Exec.DestroyScript!, [name], Environment(name), null, options.Value.DestroyTimeout, cancellationToken);
    }

    public async Task<IReadOnlyList<ProvisionedHost>> ListAsync(CancellationToken cancellationToken)
    {
        var output = await RunAsync("exec list", options.Value.Exec.ListScript!, [], Environment(null), null, options.Value.ListTimeout, cancellationToken);
        return ProvisionerJson.ParseList("exec list", output);
    }

    private Dictionary<string, string> Environment(string? name)
    {
        var env = new Dictionary<string, string>(options.Value.Exec.Environment, StringComparer.Ordinal);
        if (name is not null)
        {
            env["BERTH_HOST_NAME"] = name;
        }

        return env;
    }

    private async Task<ProvisionerOutput> RunAsync(string what, string script, IReadOnlyList<string> arguments, Dictionary<string, string> env, string? stdin, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var output = await ProvisionerProcess.RunAsync(what, script, arguments, env, stdin, timeout, time, cancellationToken);
        if (output.ExitCode == InvalidRequestExitCode)
        {
            throw new ProvisionerException($"{what} refused the request (exit {InvalidRequestExitCode}).", ProvisionerErrorKind.InvalidRequest, output.Combined);
        }

        if (output.ExitCode != 0)
        {
            throw new ProvisionerException($"{what} failed (exit {output.ExitCode}).", ProvisionerErrorKind.Failed, output.Combined);
        }

        return output;
    }
}
