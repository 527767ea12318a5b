using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Berth.Agent.Networking;

/// <summary>An IPv4 network in CIDR notation (<c>10.240.3.0/24</c>), normalised to its network address.</summary>
internal readonly record struct Ipv4Cidr(uint Network, int PrefixLength)
{
    public uint Mask => PrefixLength == 0 ? 0u : uint.MaxValue << (32 - PrefixLength);

    public IPAddress NetworkAddress => ToAddress(Network);

    /// <summary>The first host address: the tasks' gateway (the bridge) in a task subnet.</summary>
    public IPAddress Gateway => ToAddress(Network + 1);

    public long Size => 1L << (32 - PrefixLength);

    public bool Contains(IPAddress address) =>
        address.AddressFamily == AddressFamily.InterNetwork && (ToUInt(address) & Mask) == Network;

    /// <summary>Whether <paramref name="other"/> lies wholly inside this network.</summary>
    public bool Contains(Ipv4Cidr other) => other.PrefixLength >= PrefixLength && (other.Network & Mask) == Network;

    public bool Overlaps(Ipv4Cidr other) => Contains(other) || other.Contains(this);

    public override string ToString() => $"{NetworkAddress}/{PrefixLength.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>The gateway with the prefix, as <c>ip addr add</c> takes it (<c>10.240.3.1/24</c>).</summary>
    public string GatewayWithPrefix => $"{Gateway}/{PrefixLength.ToString(CultureInfo.InvariantCulture)}";

    public static bool TryParse(string? text, [NotNullWhen(true)] out Ipv4Cidr? cidr)
    {
        cidr = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        var slash = text.IndexOf('/', StringComparison.Ordinal);
        var addressText = slash < 0 ? text : text[..slash];
        var prefix = 32;
        if (slash >= 0 && !int.TryParse(text.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out prefix))
        {
            return false;
        }

        // IPAddress.TryParse takes "10" as 0.0.0.10; CIDRs here are always written as four dotted numbers.
        if (prefix is < 0 or > 32 || addressText.Count(c => c == '.') != 3
            || !IPAddress.TryParse(addressText, out var address) || address.AddressFamily != AddressFamily.InterNetwork)
        {
            return false;
        }

        var value = new Ipv4Cidr(0, prefix);
        cidr = value with { Network = ToUInt(address) & value.Mask };
        return true;
    }

    public static Ipv4Cidr Parse(string text) =>
        TryParse(text, out var cidr) ? cidr.Value : throw new FormatException($"'{text}' is not an IPv4 CIDR (a.b.c.d/n).");

    public static uint ToUInt(IPAddress address) => BinaryPrimitives.ReadUInt32BigEndian(address.GetAddressBytes());

    public static IPAddress ToAddress(uint value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, value);
        return new IPAddress(bytes);
    }

    /// <summary>Parses a plain dotted IPv4 address (no names, no shorthand).</summary>
    public static bool TryParseAddress(string? text, [NotNullWhen(true)] out IPAddress? address)
    {
        address = null;
        return text is not null && text.Count(c => c == '.') == 3 && IPAddress.TryParse(text, out address) && address.AddressFamily == AddressFamily.InterNetwork;
    }
}
