using System.Globalization;
using System.Text;

namespace Berth.LoadBalancer.Relay;

/// <summary>The IMF-fixdate of the current second, as bytes (Kestrel's Date header value), remade once a second.</summary>
internal sealed class HttpDate(TimeProvider time)
{
    private volatile Stamp? _current;

    public ReadOnlySpan<byte> Now
    {
        get
        {
            var now = time.GetUtcNow();
            var second = now.ToUnixTimeSeconds();
            var current = _current;
            if (current is null || current.Second != second)
            {
                current = new Stamp(second, Encoding.ASCII.GetBytes(now.ToString("r", CultureInfo.InvariantCulture)));
                _current = current;
            }

            return current.Bytes;
        }
    }

    private sealed record Stamp(long Second, byte[] Bytes);
}
