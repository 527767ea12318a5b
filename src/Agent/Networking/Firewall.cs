using Berth.Agent.Configuration;
using Berth.Core.Networking;
using Microsoft.Extensions.Options;

namespace Berth.Agent.Networking;

/// <summary>
/// Applies <see cref="FirewallRules"/> with <c>iptables-restore --noflush</c> and makes sure FORWARD and POSTROUTING
/// jump to Berth's chains. iptables rather than a native nftables table: Docker programs iptables (Debian 12's
/// iptables is the nft backend) and sets the FORWARD policy to DROP, so an accept in a table of our own would not
/// let routed task traffic through; in the same chains, one <c>iptables -S</c> shows Docker's rules and ours together.
/// </summary>
internal sealed partial class Firewall(IHostCommands commands, IOptions<AgentOptions> options, ILogger<Firewall> logger)
{
    private string? _applied;

    /// <summary>Replaces Berth's rules with <paramref name="rules"/> (skipped when unchanged, unless <paramref name="force"/>).</summary>
    public async Task ApplyAsync(string rules, bool force, CancellationToken cancellationToken)
    {
        if (!options.Value.Awsvpc.Firewall)
        {
            return;
        }

        if (!force && rules == _applied)
        {
            return;
        }

        // -w: wait for the xtables lock rather than fail while Docker changes its own rules.
        var result = await commands.RunAsync("iptables-restore", ["-w", "--noflush"], rules, cancellationToken: cancellationToken);
        if (!result.Succeeded)
        {
            _applied = null;
            throw new NetworkSetupException($"iptables-restore failed: {result.Message}");
        }

        await EnsureJumpAsync("filter", "FORWARD", FirewallRules.ForwardChain, cancellationToken);
        await EnsureJumpAsync("nat", "POSTROUTING", FirewallRules.NatChain, cancellationToken);
        if (rules != _applied)
        {
            var lines = rules.Count(c => c == '\n');
            LogApplied(logger, lines);
        }

        _applied = rules;
    }

    /// <summary>The jump goes first: Docker's FORWARD rules and its DROP policy must not see task traffic before us.</summary>
    private async Task EnsureJumpAsync(string table, string chain, string target, CancellationToken cancellationToken)
    {
        var check = await commands.RunAsync("iptables", ["-w", "-t", table, "-C", chain, "-j", target], cancellationToken: cancellationToken);
        if (check.Succeeded)
        {
            return;
        }

        var insert = await commands.RunAsync("iptables", ["-w", "-t", table, "-I", chain, "1", "-j", target], cancellationToken: cancellationToken);
        if (!insert.Succeeded)
        {
            throw new NetworkSetupException($"iptables -t {table} -I {chain} 1 -j {target} failed: {insert.Message}");
        }

        LogJumpInserted(logger, table, chain, target);
    }
}
