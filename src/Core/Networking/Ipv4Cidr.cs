using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Berth.Core.Networking;

/// <summary>
/// An IPv4 network in CIDR notation (<c>10.240.3.0/24</c>), normalised to its network address: the scheduler hands out
/// cluster task CIDRs and host subnets in this text, the agent builds its bridges, routes and rules from it.
/// </summary>
/// <param name="Network">The network address as a big-endian number, host bits cleared.</param>
/// <param name="PrefixLength">The prefix length, 0 to 32.</param>
public readonly record struct Ipv4Cidr(uint Network, int PrefixLength)
{
    /// <summary>The network mask as a number (<c>/24</c>: 0xFFFFFF00).</summary>
    public uint Mask => PrefixLength == 0 ? 0u : uint.MaxValue << (32 - PrefixLength);

    /// <summary>The network address (<c>10.240.3.0</c>).</summary>
    public IPAddress NetworkAddress => ToAddress(Network);

    /// <summary>The first host address: the tasks' gateway (the bridge) in a task subnet.</summary>
    public IPAddress Gateway => ToAddress(Network + 1);

    /// <summary>How many addresses the network spans, network and broadcast addresses included.</summary>
    public long Size => 1L << (32 - PrefixLength);

    /// <summary>The gateway with the prefix, as <c>ip addr add</c> takes it (<c>10.240.3.1/24</c>).</summary>
    public string GatewayWithPrefix => $"{Gateway}/{PrefixLength.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>Whether <paramref name="address"/> is an IPv4 address inside this network.</summary>
    /// <param name="address">The address.</param>
    /// <returns>True when it is inside.</returns>
    public bool Contains(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        return address.AddressFamily == AddressFamily.InterNetwork && (ToUInt(address) & Mask) == Network;
    }

    /// <summary>Whether <paramref name="other"/> lies wholly inside this network.</summary>
    /// <param name="other">The other network.</param>
    /// <returns>True when it lies inside.</returns>
    public bool Contains(Ipv4Cidr other) => other.PrefixLength >= PrefixLength && (other.Network & Mask) == Network;

    /// <summary>Whether the two networks share any address (one contains the other).</summary>
    /// <param name="other">The other network.</param>
    /// <returns>True when they overlap.</returns>
    public bool Overlaps(Ipv4Cidr other) => Contains(other) || other.Contains(this);

    /// <summary>The <paramref name="index"/>th subnet of length <paramref name="prefixLength"/> inside this network.</summary>
    /// <param name="prefixLength">The subnets' prefix length.</param>
    /// <param name="index">Which subnet, from 0.</param>
    /// <returns>The subnet.</returns>
    public Ipv4Cidr Subnet(int prefixLength, long index) => new(Network + (uint)(index << (32 - prefixLength)), prefixLength);

    /// <summary>How many subnets of length <paramref name="prefixLength"/> this network holds.</summary>
    /// <param name="prefixLength">The subnets' prefix length.</param>
    /// <returns>Their number; 0 when the subnets would be larger than this network.</returns>
    public long SubnetCount(int prefixLength) => prefixLength < PrefixLength ? 0 : 1L << (prefixLength - PrefixLength);

    /// <summary>The CIDR text (<c>10.240.3.0/24</c>).</summary>
    /// <returns>The text.</returns>
    public override string ToString() => $"{NetworkAddress}/{PrefixLength.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>
    /// Parses <c>a.b.c.d/n</c> (four dotted numbers; host bits are cleared). With <paramref name="bareAddressIsHost"/>,
    /// a plain address reads as its <c>/32</c>, as routes and rules from the engine and the kernel write single hosts;
    /// settings and API fields that name a network keep it off and must carry the prefix.
    /// </summary>
    /// <param name="text">The text.</param>
    /// <param name="cidr">The network, when the text is one.</param>
    /// <param name="bareAddressIsHost">Whether an address without <c>/n</c> is accepted as <c>/32</c>.</param>
    /// <returns>True when the text is an IPv4 CIDR.</returns>
    public static bool TryParse(string? text, [NotNullWhen(true)] out Ipv4Cidr? cidr, bool bareAddressIsHost = false)
    {
        cidr = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        var slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0 && !bareAddressIsHost)
        {
            return false;
        }

        var addressText = slash < 0 ? text : text[..slash];
        var prefix = 32;
        if (slash >= 0 && !int.TryParse(text.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out prefix))
        {
            return false;
        }

        if (prefix is < 0 or > 32 || !TryParseAddress(addressText, out var address))
        {
            return false;
        }

        var value = new Ipv4Cidr(0, prefix);
        cidr = value with { Network = ToUInt(address) & value.Mask };
        return true;
    }

    /// <summary>Parses <c>a.b.c.d/n</c>, or throws.</summary>
    /// <param name="text">The text.</param>
    /// <returns>The network.</returns>
    /// <exception cref="FormatException">The text is not an IPv4 CIDR.</exception>
    public static Ipv4Cidr Parse(string text) =>
        TryParse(text, out var cidr) ? cidr.Value : throw new FormatException($"'{text}' is not an IPv4 CIDR (a.b.c.d/n).");

    /// <summary>An IPv4 address as a big-endian number.</summary>
    /// <param name="address">An IPv4 address.</param>
    /// <returns>The number.</returns>
    public static uint ToUInt(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        return BinaryPrimitives.ReadUInt32BigEndian(address.GetAddressBytes());
    }

    /// <summary>The IPv4 address of a big-endian number.</summary>
    /// <param name="value">The number.</param>
    /// <returns>The address.</returns>
    public static IPAddress ToAddress(uint value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, value);
        return new IPAddress(bytes);
    }

    /// <summary>Parses a plain dotted IPv4 address (no names, no shorthand: <c>IPAddress.TryParse</c> takes "10" as 0.0.0.10).</summary>
    /// <param name="text">The text.</param>
    /// <param name="address">The address, when the text is one.</param>
    /// <returns>True when the text is four dotted numbers forming an IPv4 address.</returns>
    public static bool TryParseAddress(string? text, [NotNullWhen(true)] out IPAddress? address)
    {
        address = null;
        return text is not null && text.Count(c => c == '.') == 3 && IPAddress.TryParse(text, out address) && address.AddressFamily == AddressFamily.InterNetwork;
    }
}
