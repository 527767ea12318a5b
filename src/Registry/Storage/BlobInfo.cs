namespace Berth.Registry.Storage;

/// <summary>
/// A blob of the global store, with its header values precomputed, as the blob cache holds it: the repositories
/// known to link it (a few ids, replaced whole on change) ride along, so a HEAD answered from the cache is one
/// dictionary lookup and a scan of a handful of ints.
/// </summary>
internal sealed class BlobInfo(string digest, long size)
{
    // Strings, arrays, the entry and the dictionary node, roughly.
    private const int Overhead = 400;

    private int[] _repositories = [];

    public string Digest { get; } = digest;

    public long Size { get; } = size;

    public string ETag { get; } = $"\"{digest}\"";

    public long Cost => Overhead + (Volatile.Read(ref _repositories).Length * sizeof(int));

    public bool IsLinkedTo(int repository) => Array.IndexOf(Volatile.Read(ref _repositories), repository) >= 0;

    // Writers hold RegistryStore's cache gate.
    public void AddLink(int repository)
    {
        var current = _repositories;
        if (Array.IndexOf(current, repository) < 0)
        {
            Volatile.Write(ref _repositories, [.. current, repository]);
        }
    }

    public void RemoveLink(int repository)
    {
        var current = _repositories;
        if (Array.IndexOf(current, repository) >= 0)
        {
            Volatile.Write(ref _repositories, Array.FindAll(current, id => id != repository));
        }
    }
}
