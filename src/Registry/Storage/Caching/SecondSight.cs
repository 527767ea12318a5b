namespace Berth.Registry.Storage.Caching;

/// <summary>
/// Cache admission: says whether a key was seen recently (a "doorkeeper", as in TinyLFU), so that only keys asked for
/// twice go into a cache. A bit per hash in 1 Mi bits (128 KiB); when a sixteenth of them are set, all are cleared, so
/// "recently" is the last ~65,000 distinct misses and at most one miss in 16 is wrongly "seen" (a hash collision, which
/// only admits one entry early).
/// </summary>
internal sealed class SecondSight
{
    private const int Bits = 1 << 20;

    private readonly ulong[] _bits = new ulong[Bits / 64];
    private int _set;

    public bool SeenBefore(string key)
    {
        var hash = (uint)string.GetHashCode(key) % Bits;
        ref var word = ref _bits[hash / 64];
        var mask = 1UL << (int)(hash % 64);
        if ((Volatile.Read(ref word) & mask) != 0)
        {
            return true;
        }

        // Racing setters may lose a bit: that only delays one admission.
        Volatile.Write(ref word, word | mask);
        if (Interlocked.Increment(ref _set) >= Bits / 16)
        {
            Array.Clear(_bits);
            Volatile.Write(ref _set, 0);
        }

        return false;
    }

}
