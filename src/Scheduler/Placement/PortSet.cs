using System.Collections;
using System.Numerics;

namespace Berth.Scheduler.Placement;

/// <summary>
/// An immutable set of host ports (tcp and udp), stored as a bitmap in 1024-port pages that are allocated only when
/// used and shared between versions, under a two-level table (8 directories of 16 pages): adding a port copies one
/// 128-byte page, one directory and the 8-entry root, so a successor costs O(1) regardless of how many ports are used.
/// </summary>
internal sealed class PortSet : IEnumerable<HostPort>
{
    private const int PageBits = 1024;
    private const int WordsPerPage = PageBits / 64;
    private const int PagesPerDirectory = 16;
    private const int Directories = 65536 * 2 / PageBits / PagesPerDirectory;

    /// <summary>The empty set.</summary>
    public static readonly PortSet Empty = new(new ulong[]?[]?[Directories], 0);

    // Pages 0..63 hold tcp, 64..127 udp; page p lives in directory p / 16. A null page or directory has no port set.
    private readonly ulong[]?[]?[] _directories;

    private PortSet(ulong[]?[]?[] directories, int count)
    {
        _directories = directories;
        Count = count;
    }

    /// <summary>Number of ports in the set.</summary>
    public int Count { get; }

    /// <summary>A set of the given ports.</summary>
    public static PortSet Of(IEnumerable<HostPort> ports)
    {
        ArgumentNullException.ThrowIfNull(ports);
        var set = Empty;
        foreach (var port in ports)
        {
            set = set.Add(port);
        }

        return set;
    }

    /// <summary>Whether <paramref name="port"/> is in the set.</summary>
    public bool Contains(HostPort port)
    {
        var bit = BitIndex(port);
        var page = Page(bit / PageBits);
        return page is not null && (page[bit % PageBits / 64] & (1UL << (bit % 64))) != 0;
    }

    /// <summary>The set with <paramref name="port"/> added (this set when already present).</summary>
    public PortSet Add(HostPort port) => Set(port, true);

    /// <summary>The set with <paramref name="port"/> removed (this set when absent).</summary>
    public PortSet Remove(HostPort port) => Set(port, false);

    /// <summary>The set with all <paramref name="ports"/> added.</summary>
    public PortSet AddRange(IEnumerable<HostPort> ports)
    {
        var set = this;
        foreach (var port in ports)
        {
            set = set.Add(port);
        }

        return set;
    }

    /// <summary>The set with all <paramref name="ports"/> removed.</summary>
    public PortSet RemoveRange(IEnumerable<HostPort> ports)
    {
        var set = this;
        foreach (var port in ports)
        {
            set = set.Remove(port);
        }

        return set;
    }

    /// <summary>
    /// The lowest port in [<paramref name="first"/>, <paramref name="last"/>] of <paramref name="protocol"/> that is
    /// neither in the set nor in <paramref name="alsoTaken"/>, or -1. Cost: one 64-bit word per 64 ports scanned.
    /// </summary>
    public int FindFree(TransportProtocol protocol, int first, int last, ReadOnlySpan<int> alsoTaken)
    {
        var port = first;
        while (port <= last)
        {
            var bit = BitIndex(new HostPort(port, protocol));
            var page = Page(bit / PageBits);
            var word = page is null ? 0UL : page[bit % PageBits / 64];
            // Treat bits below `port` in this word as taken, then look for the lowest clear bit.
            var shift = bit % 64;
            var free = ~word & (ulong.MaxValue << shift);
            while (free != 0)
            {
                var candidate = port + BitOperations.TrailingZeroCount(free) - shift;
                if (candidate > last)
                {
                    return -1;
                }

                if (!alsoTaken.Contains(candidate))
                {
                    return candidate;
                }

                free &= free - 1;
            }

            port += 64 - shift;
        }

        return -1;
    }

    /// <inheritdoc/>
    public IEnumerator<HostPort> GetEnumerator()
    {
        for (var p = 0; p < Directories * PagesPerDirectory; p++)
        {
            var page = Page(p);
            if (page is null)
            {
                continue;
            }

            for (var w = 0; w < WordsPerPage; w++)
            {
                var word = page[w];
                while (word != 0)
                {
                    var bit = (p * PageBits) + (w * 64) + BitOperations.TrailingZeroCount(word);
                    yield return new HostPort(bit % 65536, bit < 65536 ? TransportProtocol.Tcp : TransportProtocol.Udp);
                    word &= word - 1;
                }
            }
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <inheritdoc/>
    public override string ToString() => string.Join(",", this);

    private static int BitIndex(HostPort port)
    {
        if ((uint)port.Port > 65535)
        {
            throw new ArgumentOutOfRangeException(nameof(port), port.Port, "A host port is 0-65535.");
        }

        return port.Port + (port.Protocol == TransportProtocol.Udp ? 65536 : 0);
    }

    private PortSet Set(HostPort port, bool value)
    {
        var bit = BitIndex(port);
        var pageIndex = bit / PageBits;
        var page = Page(pageIndex);
        var mask = 1UL << (bit % 64);
        var present = page is not null && (page[bit % PageBits / 64] & mask) != 0;
        if (present == value)
        {
            return this;
        }

        var newPage = page is null ? new ulong[WordsPerPage] : (ulong[])page.Clone();
        if (value)
        {
            newPage[bit % PageBits / 64] |= mask;
        }
        else
        {
            newPage[bit % PageBits / 64] &= ~mask;
        }

        var directories = (ulong[]?[]?[])_directories.Clone();
        var directory = directories[pageIndex / PagesPerDirectory];
        directory = directory is null ? new ulong[]?[PagesPerDirectory] : (ulong[]?[])directory.Clone();
        directory[pageIndex % PagesPerDirectory] = newPage;
        directories[pageIndex / PagesPerDirectory] = directory;
        return new PortSet(directories, Count + (value ? 1 : -1));
    }

    private ulong[]? Page(int pageIndex) => _directories[pageIndex / PagesPerDirectory]?[pageIndex % PagesPerDirectory];
}
