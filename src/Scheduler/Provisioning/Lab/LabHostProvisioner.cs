using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace Berth.Scheduler.Provisioning.Lab;

/// <summary>
/// The embedded provisioner: a host is a network namespace on this machine's lab bridge with its own dockerd and an
/// agent process (lab/host.sh does the work). Everything a host is lives in the lab's data directory and in named
/// namespaces, not in this process: the agents outlive a scheduler restart, and <see cref="ListAsync"/> finds them
/// (and the half-made ones) again. Needs root, iproute2, nsenter and docker.io.
/// </summary>
internal sealed partial class LabHostProvisioner(IOptions<ProvisioningOptions> options, TimeProvider time, ILogger<LabHostProvisioner> logger) : IHostProvisioner
{
    public string Kind => "lab";

    private LabProvisionerOptions Lab => options.Value.Lab;

    /// <summary>The root namespace's address on the lab bridge (made if missing): a scheduler listening there is reachable from every host.</summary>
    public async Task<string> EnsureNetworkAsync(CancellationToken cancellationToken)
    {
        var output = await RunAsync("lab network", ["network"], null, options.Value.ListTimeout, cancellationToken);
        return output.StandardOutput.Trim();
    }

    public async Task<ProvisionedHost> CreateAsync(HostRequest request, CancellationToken cancellationToken)
    {
        if (request.Validate() is { } problem)
        {
            throw new ProvisionerException($"create {request.Name}: {problem}", ProvisionerErrorKind.InvalidRequest);
        }

        var what = $"lab create {request.Name}";
        LogCreating(logger, request.Name, request.Cluster, request.Zone);
        var output = await RunAsync(what, ["create", request.Name], AgentConfiguration(request), options.Value.CreateTimeout, cancellationToken);
        var host = ProvisionerJson.ParseCreated(what, request.Name, output);
        LogCreated(logger, request.Name, host.Address, host.ContainerInstanceArn);
        return host;
    }

    public async Task DestroyAsync(string name, CancellationToken cancellationToken)
    {
        if (!HostRequest.IsValidName(name))
        {
            throw new ProvisionerException($"destroy: '{name}' is not a host name.", ProvisionerErrorKind.InvalidRequest);
        }

        await RunAsync($"lab destroy {name}", ["destroy", name], null, options.Value.DestroyTimeout, cancellationToken);
        LogDestroyed(logger, name);
    }

    public async Task<IReadOnlyList<ProvisionedHost>> ListAsync(CancellationToken cancellationToken) =>
        ProvisionerJson.ParseList("lab list", await RunAsync("lab list", ["list"], null, options.Value.ListTimeout, cancellationToken));

    /// <summary>The agent's configuration file (agent.json) for one host; host.sh adds the paths it owns (engine, data dir, cgroups).</summary>
    internal string AgentConfiguration(HostRequest request)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            // Operator settings first: the request's own keys below win over them.
            foreach (var (key, value) in Lab.AgentSettings.OrderBy(s => s.Key, StringComparer.Ordinal))
            {
                json.WriteString(key, value);
            }

            json.WriteString("SchedulerUrl", request.SchedulerUrl.ToString().TrimEnd('/'));
            json.WriteString("JoinToken", request.JoinToken);
            json.WriteString("Cluster", request.Cluster);
            if (request.Zone.Length > 0)
            {
                json.WriteString("Zone", request.Zone);
            }

            if (request.InstanceType.Length > 0)
            {
                json.WriteString("InstanceType", request.InstanceType);
            }

            json.WriteStartObject("Attributes");
            foreach (var (key, value) in request.AgentAttributes)
            {
                json.WriteString(key, value);
            }

            json.WriteEndObject();
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private async Task<ProvisionerOutput> RunAsync(string what, IReadOnlyList<string> arguments, string? stdin, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["LAB_ID"] = Lab.Id,
            ["LAB_NET"] = Lab.Net.ToString(CultureInfo.InvariantCulture),
            ["LAB_DIR"] = Lab.DataDirectory!,
            ["BERTH_AGENT"] = Lab.AgentPath!,
            ["LAB_FORWARD_PORTS"] = string.Join(' ', Lab.ForwardedPorts.Select(p => p.ToString(CultureInfo.InvariantCulture))),
        };
        var output = await ProvisionerProcess.RunAsync(what, "bash", [Path.Combine(Lab.ScriptsDirectory, "host.sh"), .. arguments], env, stdin, timeout, time, cancellationToken);
        if (output.ExitCode != 0)
        {
            var kind = output.ExitCode == 64 ? ProvisionerErrorKind.InvalidRequest : ProvisionerErrorKind.Failed;
            throw new ProvisionerException($"{what} failed (exit {output.ExitCode}).", kind, output.Combined);
        }

        return output;
    }
}
