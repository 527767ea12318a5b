using System.ComponentModel.DataAnnotations;
using Berth.Core.Networking;
using Microsoft.Extensions.Options;

namespace Berth.Scheduler.Networking;

/// <summary>The <c>Scheduler:Awsvpc</c> configuration section: where clusters' and hosts' task addresses come from.</summary>
internal sealed class AwsvpcOptions
{
    public const string Section = "Scheduler:Awsvpc";

    /// <summary>
    /// The pool a cluster's task CIDR is taken from when CreateCluster names none: the first free block of
    /// <see cref="ClusterPrefixLength"/> that overlaps no other cluster's.
    /// </summary>
    [Required]
    public string CidrPool { get; set; } = "10.240.0.0/12";

    /// <summary>The size of a cluster's task CIDR taken from the pool (16: 65,536 addresses, 256 hosts of /24).</summary>
    [Range(8, 28)]
    public int ClusterPrefixLength { get; set; } = 16;

    /// <summary>The size of each host's task subnet inside its cluster's CIDR (24: 253 tasks per host).</summary>
    [Range(16, 28)]
    public int HostSubnetPrefixLength { get; set; } = 24;
}

/// <summary>Rules across <see cref="AwsvpcOptions"/>' fields.</summary>
internal sealed class AwsvpcOptionsValidator : IValidateOptions<AwsvpcOptions>
{
    public ValidateOptionsResult Validate(string? name, AwsvpcOptions options)
    {
        if (!Ipv4Cidr.TryParse(options.CidrPool, out var pool))
        {
            return ValidateOptionsResult.Fail($"{AwsvpcOptions.Section}:CidrPool: '{options.CidrPool}' is not an IPv4 CIDR (a.b.c.d/n).");
        }

        if (options.ClusterPrefixLength < pool.Value.PrefixLength)
        {
            return ValidateOptionsResult.Fail($"{AwsvpcOptions.Section}:ClusterPrefixLength: /{options.ClusterPrefixLength} is larger than the pool {pool}.");
        }

        return options.HostSubnetPrefixLength < options.ClusterPrefixLength
            ? ValidateOptionsResult.Fail($"{AwsvpcOptions.Section}:HostSubnetPrefixLength: /{options.HostSubnetPrefixLength} is larger than a cluster's /{options.ClusterPrefixLength}.")
            : ValidateOptionsResult.Success;
    }
}
