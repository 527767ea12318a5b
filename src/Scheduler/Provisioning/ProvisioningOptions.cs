using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Berth.Scheduler.Provisioning;

/// <summary>The <c>Provisioning</c> section: which provisioner makes Berth's own hosts, its limits and its settings.</summary>
internal sealed class ProvisioningOptions
{
    public const string Section = "Provisioning";

    /// <summary><c>lab</c> (the embedded default) or <c>exec</c>.</summary>
    [Required]
    [RegularExpression("^(lab|exec)$")]
    public string Kind { get; set; } = "lab";

    /// <summary>How long one create may take (a VM boot and an agent install included) before it is killed.</summary>
    public TimeSpan CreateTimeout { get; set; } = TimeSpan.FromMinutes(5);

    public TimeSpan DestroyTimeout { get; set; } = TimeSpan.FromMinutes(2);

    public TimeSpan ListTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Creates tried per host before the failure is final (each failed one destroyed first).</summary>
    [Range(1, 20)]
    public int CreateAttempts { get; set; } = 3;

    [Range(1, 20)]
    public int DestroyAttempts { get; set; } = 5;

    /// <summary>The wait before the first retry; it doubles with every further one, up to <see cref="MaxRetryBackoff"/>.</summary>
    public TimeSpan RetryBackoff { get; set; } = TimeSpan.FromSeconds(5);

    public TimeSpan MaxRetryBackoff { get; set; } = TimeSpan.FromMinutes(2);

    public LabProvisionerOptions Lab { get; set; } = new();

    public ExecProvisionerOptions Exec { get; set; } = new();
}

/// <summary>The <c>lab</c> provisioner: hosts as network namespaces with their own dockerd and agent (lab/host.sh).</summary>
internal sealed class LabProvisionerOptions
{
    /// <summary>The lab's id, part of every name it makes (namespaces <c>berth-lab-ID-hN</c>): 1-4 lower-case letters or digits.</summary>
    [RegularExpression("^[a-z0-9]{1,4}$")]
    public string Id { get; set; } = "p";

    /// <summary>The third octet of the lab's 10.231.x.0/24: the root leg is .254, hosts .11 to .25.</summary>
    [Range(0, 255)]
    public int Net { get; set; } = 200;

    /// <summary>Where the hosts' engines, agents and records live; they survive a scheduler restart there.</summary>
    public string? DataDirectory { get; set; }

    /// <summary>The folder holding lab/host.sh and its companions; the scheduler's build output carries a copy in <c>lab/</c>.</summary>
    public string ScriptsDirectory { get; set; } = Path.Combine(AppContext.BaseDirectory, "lab");

    /// <summary>The agent to run on each host: its executable (<c>Berth.Agent</c>) or <c>Berth.Agent.dll</c> (run with dotnet).</summary>
    public string? AgentPath { get; set; }

    /// <summary>More agent configuration for every host (keys as in agent.json, <c>ImageCleanup:Enabled</c> style), e.g. pull behaviour.</summary>
    public Dictionary<string, string> AgentSettings { get; set; } = [];

    /// <summary>
    /// TCP ports of each host's own 127.0.0.1 forwarded to the same port of the lab's root leg (lab/host.sh's
    /// <c>LAB_FORWARD_PORTS</c>): a registry listening on both 127.0.0.1 and the root leg (<c>berth up</c>'s) is then
    /// reached from the hosts by the name images are pushed with, <c>127.0.0.1:PORT/...</c>.
    /// </summary>
    public List<int> ForwardedPorts { get; set; } = [];
}

/// <summary>The <c>exec</c> provisioner: three operator scripts (docs/provisioning.md has their contract).</summary>
internal sealed class ExecProvisionerOptions
{
    public string? CreateScript { get; set; }

    public string? DestroyScript { get; set; }

    public string? ListScript { get; set; }

    /// <summary>Extra environment for every script (a cloud profile, a template name).</summary>
    public Dictionary<string, string> Environment { get; set; } = [];
}

/// <summary>Rules across fields: the chosen provisioner's settings are present, timeouts are positive.</summary>
internal sealed class ProvisioningOptionsValidator : IValidateOptions<ProvisioningOptions>
{
    public ValidateOptionsResult Validate(string? name, ProvisioningOptions options)
    {
        var failures = new List<string>();
        if (options.CreateTimeout <= TimeSpan.Zero || options.DestroyTimeout <= TimeSpan.Zero || options.ListTimeout <= TimeSpan.Zero)
        {
            failures.Add("Provisioning: CreateTimeout, DestroyTimeout and ListTimeout must be positive.");
        }

        if (options.RetryBackoff < TimeSpan.Zero || options.MaxRetryBackoff < options.RetryBackoff)
        {
            failures.Add("Provisioning: RetryBackoff must not be negative nor above MaxRetryBackoff.");
        }

        if (options.Kind == "lab")
        {
            var lab = options.Lab;
            Check(lab, nameof(LabProvisionerOptions.Id), "Provisioning:Lab:Id", failures);
            Check(lab, nameof(LabProvisionerOptions.Net), "Provisioning:Lab:Net", failures);
            if (string.IsNullOrEmpty(lab.DataDirectory) || !Path.IsPathFullyQualified(lab.DataDirectory))
            {
                failures.Add($"Provisioning:Lab:DataDirectory must be an absolute path (got '{lab.DataDirectory}').");
            }

            if (string.IsNullOrEmpty(lab.AgentPath) || !File.Exists(lab.AgentPath))
            {
                failures.Add($"Provisioning:Lab:AgentPath must name the agent's executable or Berth.Agent.dll (got '{lab.AgentPath}').");
            }

            foreach (var port in lab.ForwardedPorts.Where(p => p is < 1 or > 65535))
            {
                failures.Add($"Provisioning:Lab:ForwardedPorts: {port} is not a TCP port (1-65535).");
            }

            if (!File.Exists(Path.Combine(lab.ScriptsDirectory, "host.sh")))
            {
                failures.Add($"Provisioning:Lab:ScriptsDirectory '{lab.ScriptsDirectory}' has no host.sh.");
            }
        }
        else if (options.Kind == "exec")
        {
            foreach (var (key, path) in new[] { ("CreateScript", options.Exec.CreateScript), ("DestroyScript", options.Exec.DestroyScript), ("ListScript", options.Exec.ListScript) })
            {
                if (string.IsNullOrEmpty(path) || !File.Exists(path))
                {
                    failures.Add($"Provisioning:Exec:{key} must name an existing script (got '{path}').");
                }
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    // DataAnnotations do not reach into nested sections.
    private static void Check(object section, string property, string key, List<string> failures)
    {
        var results = new List<ValidationResult>();
        var value = section.GetType().GetProperty(property)!.GetValue(section);
        if (!Validator.TryValidateProperty(value, new ValidationContext(section) { MemberName = property }, results))
        {
            failures.Add($"{key}: {string.Join(' ', results.Select(r => r.ErrorMessage))} (got '{value}').");
        }
    }
}
