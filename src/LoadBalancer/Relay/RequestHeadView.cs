using System.Buffers;
using System.Text;
using Berth.LoadBalancer.Model;

namespace Berth.LoadBalancer.Relay;

/// <summary>
/// A parsed request head as rule conditions read it: the head's ASCII bytes widened to chars once (only when a rule
/// has conditions to evaluate), so that the offsets of <see cref="RequestHead"/> apply to them unchanged.
/// </summary>
internal struct RequestHeadView : IRuleRequest, IDisposable
{
    private readonly RequestHead _request;
    private readonly int _length;
    private char[]? _chars;

    public RequestHeadView(ReadOnlySpan<byte> head, in RequestHead request)
    {
        _request = request;
        _length = head.Length;
        _chars = ArrayPool<char>.Shared.Rent(head.Length);
        // TryParse let only ASCII through.
        Ascii.ToUtf16(head, _chars, out _);
    }

    /// <summary>Whether this is the default value (nothing widened yet).</summary>
    public readonly bool IsEmpty => _chars is null;

    private readonly ReadOnlySpan<char> Head => _chars.AsSpan(0, _length);

    public readonly ReadOnlySpan<char> Method => Head[_request.Method];

    public readonly ReadOnlySpan<char> Host
    {
        get
        {
            // As HostString.Host: an IP literal keeps its brackets, a port goes.
            var host = Head[_request.Host];
            var end = host.StartsWith('[') ? host.IndexOf(']') + 1 : host.IndexOf(':');
            return end > 0 ? host[..end] : host;
        }
    }

    public readonly ReadOnlySpan<char> Path => Head[_request.Path];

    public readonly ReadOnlySpan<char> Query => Head[_request.Query];

    public readonly bool NextHeaderValue(string name, ref int cursor, out ReadOnlySpan<char> value)
    {
        var head = Head;
        var offset = cursor == 0 ? head.IndexOf("\r\n") + 2 : cursor;
        while (true)
        {
            var end = head[offset..].IndexOf("\r\n");
            if (end <= 0)
            {
                value = default;
                return false;
            }

            var field = head.Slice(offset, end);
            offset += end + 2;
            var colon = field.IndexOf(':');
            if (field[..colon].Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                cursor = offset;
                value = field[(colon + 1)..].Trim(" \t");
                return true;
            }
        }
    }

    public void Dispose()
    {
        if (_chars is not null)
        {
            ArrayPool<char>.Shared.Return(_chars);
            _chars = null;
        }
    }
}
