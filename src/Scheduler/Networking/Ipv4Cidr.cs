using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Berth.Scheduler.Networking;

/// <summary>
/// An IPv4 network in CIDR notation (<c>10.240.3.0/24</c>), normalised to its network address. The agent has its own
/// (src/Agent/Networking): the two processes share no code but Core, and this is the scheduler's view of the same text.
/// </summary>
internal readonly record struct Ipv4Cidr(uint Network, int PrefixLength)
{
    public uint Mask => PrefixLength == 0 ? 0u : uint.MaxValue << (32 - PrefixLength);

    /// <summary>Whether <paramref name="other"/> lies wholly inside this network.</summary>
    public bool Contains(Ipv4Cidr other) => other.PrefixLength >= PrefixLength && (other.Network & Mask) == Network;

    public bool Overlaps(Ipv4Cidr other) => Contains(other) || other.Contains(this);

    /// <summary>The <paramref name="index"/>th subnet of length <paramref name="prefixLength"/> inside this network.</summary>
    public Ipv4Cidr Subnet(int prefixLength, long index) => new(Network + (uint)(index << (32 - prefixLength)), prefixLength);

    /// <summary>How many subnets of length <paramref name="prefixLength"/> this network holds.</summary>
    public long SubnetCount(int prefixLength) => prefixLength < PrefixLength ? 0 : 1L << (prefixLength - PrefixLength);

    public override string ToString() => $"{ToAddress(Network)}/{PrefixLength.ToString(CultureInfo.InvariantCulture)}";

    public static bool TryParse(string? text, [NotNullWhen(true)] out Ipv4Cidr? cidr)
    {
        cidr = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        var slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0 || !int.TryParse(text.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var prefix) || prefix is < 0 or > 32)
        {
            return false;
        }

        // IPAddress.TryParse takes "10" as 0.0.0.10; CIDRs are always written as four dotted numbers.
        var addressText = text[..slash];
        if (addressText.Count(c => c == '.') != 3 || !IPAddress.TryParse(addressText, out var address) || address.AddressFamily != AddressFamily.InterNetwork)
        {
            return false;
        }

        var value = new Ipv4Cidr(0, prefix);
        cidr = value with { Network = BinaryPrimitives.ReadUInt32BigEndian(address.GetAddressBytes()) & value.Mask };
        return true;
    }

    public static Ipv4Cidr Parse(string text) =>
        TryParse(text, out var cidr) ? cidr.Value : throw new FormatException($"'{text}' is not an IPv4 CIDR (a.b.c.d/n).");

    private static IPAddress ToAddress(uint value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, value);
        return new IPAddress(bytes);
    }
}
