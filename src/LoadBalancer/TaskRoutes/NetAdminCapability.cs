using System.Globalization;

namespace Berth.LoadBalancer.TaskRoutes;

/// <summary>Whether this process may change its network namespace's routing table (CAP_NET_ADMIN in its effective set).</summary>
internal sealed class NetAdminCapability(bool held)
{
    // include/uapi/linux/capability.h
    private const int CapNetAdmin = 12;

    public bool Held => held;

    /// <summary>Reads <c>CapEff</c> of /proc/self/status; false where it cannot be read (not Linux).</summary>
    public static NetAdminCapability OfThisProcess()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith("CapEff:", StringComparison.Ordinal)
                    && ulong.TryParse(line["CapEff:".Length..].Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var effective))
                {
                    return new NetAdminCapability((effective & (1UL << CapNetAdmin)) != 0);
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return new NetAdminCapability(false);
    }
}
