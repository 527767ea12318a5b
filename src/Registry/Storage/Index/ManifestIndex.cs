using System.Buffers;
using System.Runtime.CompilerServices;
using Berth.Core.Images;

namespace Berth.Registry.Storage.Index;

/// <summary>The raw bytes of a digest's hash (sha512 is the longest).</summary>
[InlineArray(64)]
internal struct HashBuffer
{
    private byte _element0;
}

/// <summary>A manifest as the index knows it, copied out of the index: everything GET and HEAD answer with but the body.</summary>
internal struct IndexedManifest
{
    public HashBuffer Hash;
    public int HashLength;
    public int RepositoryId;
    public int Size;
    public string MediaType;

    public readonly string Algorithm => HashLength == 64 ? Digest.Sha512 : Digest.Sha256;

    /// <summary>Characters of <c>algorithm:hex</c>.</summary>
    public readonly int DigestLength => Algorithm.Length + 1 + (HashLength * 2);

    public readonly void FormatDigest(Span<char> destination)
    {
        var algorithm = Algorithm;
        algorithm.CopyTo(destination);
        destination[algorithm.Length] = ':';
        Convert.TryToHexStringLower(((ReadOnlySpan<byte>)Hash)[..HashLength], destination[(algorithm.Length + 1)..], out _);
    }

    public override readonly string ToString() => string.Create(DigestLength, this, static (span, manifest) => manifest.FormatDigest(span));
}

/// <summary>
/// What GET and HEAD of a manifest need without I/O, for every manifest of the registry: repository names -> ids,
/// (repository, digest) -> size and media type, (repository, tag) -> manifest. Bodies are not here (the store reads
/// them on a cache miss), nor blobs (the metadata database, behind a cache). About 80 bytes per tagged sha256
/// manifest, in arrays that hold no references, so the GC never traces them.
/// <para>
/// One writer at a time (the caller serializes, <see cref="RegistryStore"/>'s write lock), any number of readers
/// without locks: a sequence lock. The writer makes the sequence odd, changes what it must, and makes it even again;
/// a reader notes the sequence, reads, and keeps its result only if the sequence was even and is unchanged, otherwise
/// it reads again. A read that raced a write may have seen a half-changed table, so every read path is bounded (probes
/// stop after the table's size) and bounds-checked: an index out of range, or a chunk not there yet, is caught and is
/// one more reason to retry, never an answer. Writes take microseconds, so readers
/// practically never wait; growth rehashes inside the window (rare: at each doubling).
/// </para>
/// </summary>
internal sealed class ManifestIndex
{
    private const int RepositoryOwner = 0;

    private readonly NameTable _repositories = new();
    private readonly NameTable _tags = new();
    private readonly ManifestTable _sha256 = new(32);
    private readonly ManifestTable _sha512 = new(64);

    // Media types are few (the four manifest types this registry accepts); a manifest keeps the type's number.
    private readonly string[] _mediaTypes = new string[byte.MaxValue + 1];
    private int _mediaTypeCount = 1;
    private int _sequence;

    public IndexStatistics Statistics => new(
        _repositories.Count,
        _sha256.Count + _sha512.Count,
        _tags.Count,
        _repositories.Bytes + _tags.Bytes + _sha256.Bytes + _sha512.Bytes);

    public bool TryGetRepository(ReadOnlySpan<char> name, out int id)
    {
        var spinner = default(SpinWait);
        while (true)
        {
            var sequence = Volatile.Read(ref _sequence);
            if ((sequence & 1) == 0)
            {
                bool found;
                try
                {
                    found = _repositories.TryGet(RepositoryOwner, name, out id);
                }
                catch (Exception exception) when (exception is IndexOutOfRangeException or ArgumentOutOfRangeException or NullReferenceException)
                {
                    found = false;
                    id = 0;
                }

                if (Validate(sequence))
                {
                    return found;
                }
            }

            spinner.SpinOnce();
        }
    }

    /// <summary>The manifest <paramref name="digest"/> (a valid digest) of the repository.</summary>
    public bool TryGetByDigest(int repository, ReadOnlySpan<char> digest, out IndexedManifest manifest)
    {
        manifest = default;
        if (!TryParse(digest, out var table, ref manifest.Hash, out var length))
        {
            return false;
        }

        var hash = ((ReadOnlySpan<byte>)manifest.Hash)[..length];
        var spinner = default(SpinWait);
        while (true)
        {
            var sequence = Volatile.Read(ref _sequence);
            if ((sequence & 1) == 0)
            {
                bool found;
                try
                {
                    var slot = table.Find(repository, hash);
                    found = slot >= 0 && Read(table, slot, ref manifest);
                }
                catch (Exception exception) when (exception is IndexOutOfRangeException or ArgumentOutOfRangeException or NullReferenceException)
                {
                    found = false;
                }

                if (Validate(sequence))
                {
                    return found;
                }
            }

            spinner.SpinOnce();
        }
    }

    /// <summary>The manifest that <paramref name="tag"/> of the repository points at.</summary>
    public bool TryGetByTag(int repository, ReadOnlySpan<char> tag, out IndexedManifest manifest)
    {
        manifest = default;
        var spinner = default(SpinWait);
        while (true)
        {
            var sequence = Volatile.Read(ref _sequence);
            if ((sequence & 1) == 0)
            {
                bool found;
                try
                {
                    found = _tags.TryGet(repository, tag, out var reference) && Read(reference, ref manifest) && manifest.RepositoryId == repository;
                }
                catch (Exception exception) when (exception is IndexOutOfRangeException or ArgumentOutOfRangeException or NullReferenceException)
                {
                    found = false;
                }

                if (Validate(sequence))
                {
                    return found;
                }
            }

            spinner.SpinOnce();
        }
    }

    /// <summary>
    /// Writer, at start: sizes the tables for what the load will add (sha256 for every manifest: sha512 ones are
    /// rare), so a million manifests and tags are placed once instead of rehashed at every doubling.
    /// </summary>
    public void Reserve(int repositories, int manifests, int tags)
    {
        BeginWrite();
        try
        {
            _repositories.Reserve(repositories);
            _sha256.Reserve(manifests);
            _tags.Reserve(tags);
        }
        finally
        {
            EndWrite();
        }
    }

    /// <summary>Writer: a repository that now exists in the database.</summary>
    public void AddRepository(int id, string name)
    {
        BeginWrite();
        try
        {
            _repositories.Set(RepositoryOwner, name, id);
        }
        finally
        {
            EndWrite();
        }
    }

    /// <summary>Writer: a manifest committed to the database, and the tags that now point at it.</summary>
    public void PutManifest(int repository, string digest, string mediaType, int size, IReadOnlyList<string> tags)
    {
        BeginWrite();
        try
        {
            var reference = AddManifest(repository, digest, mediaType, size);
            foreach (var tag in tags)
            {
                _tags.Set(repository, tag, reference);
            }
        }
        finally
        {
            EndWrite();
        }
    }

    /// <summary>Writer, at start: a manifest, returning the reference <see cref="LoadTag"/> takes.</summary>
    public int LoadManifest(int repository, string digest, string mediaType, int size)
    {
        BeginWrite();
        try
        {
            return AddManifest(repository, digest, mediaType, size);
        }
        finally
        {
            EndWrite();
        }
    }

    /// <summary>Writer, at start: a tag pointing at a manifest <see cref="LoadManifest"/> returned.</summary>
    public void LoadTag(int repository, string name, int manifest)
    {
        BeginWrite();
        try
        {
            _tags.Set(repository, name, manifest);
        }
        finally
        {
            EndWrite();
        }
    }

    /// <summary>Writer: a repository deleted from the database (its manifests and tags removed before).</summary>
    public bool RemoveRepository(string name)
    {
        BeginWrite();
        try
        {
            return _repositories.Remove(RepositoryOwner, name);
        }
        finally
        {
            EndWrite();
        }
    }

    public bool RemoveTag(int repository, string tag)
    {
        BeginWrite();
        try
        {
            return _tags.Remove(repository, tag);
        }
        finally
        {
            EndWrite();
        }
    }

    /// <summary>Writer: removes a manifest and <paramref name="tags"/>, the tags that pointed at it (the database says which).</summary>
    public bool RemoveManifest(int repository, string digest, IEnumerable<string> tags)
    {
        var parsed = default(HashBuffer);
        if (!TryParse(digest, out var table, ref parsed, out var length))
        {
            return false;
        }

        BeginWrite();
        try
        {
            foreach (var tag in tags)
            {
                _tags.Remove(repository, tag);
            }

            return table.Remove(repository, ((ReadOnlySpan<byte>)parsed)[..length]) >= 0;
        }
        finally
        {
            EndWrite();
        }
    }

    private int AddManifest(int repository, string digest, string mediaType, int size)
    {
        var parsed = default(HashBuffer);
        if (!TryParse(digest, out var table, ref parsed, out var length))
        {
            throw new ArgumentException($"'{digest}' is not a digest", nameof(digest));
        }

        var slot = table.Add(repository, ((ReadOnlySpan<byte>)parsed)[..length], size, MediaTypeNumber(mediaType));
        return table == _sha512 ? ~slot : slot;
    }

    private bool Read(int reference, ref IndexedManifest manifest) =>
        reference >= 0 ? Read(_sha256, reference, ref manifest) : Read(_sha512, ~reference, ref manifest);

    private bool Read(ManifestTable table, int slot, ref IndexedManifest manifest)
    {
        var repository = table.RepositoryOf(slot);
        if (repository == 0)
        {
            return false;
        }

        table.HashOf(slot).CopyTo(manifest.Hash);
        manifest.HashLength = table.HashLength;
        manifest.RepositoryId = repository;
        manifest.Size = table.SizeOf(slot);
        manifest.MediaType = _mediaTypes[table.TypeOf(slot)];
        return manifest.MediaType is not null;
    }

    private bool TryParse(ReadOnlySpan<char> digest, out ManifestTable table, ref HashBuffer hash, out int length)
    {
        var colon = digest.IndexOf(':');
        var algorithm = colon > 0 ? digest[..colon] : default;
        (table, length) = algorithm.SequenceEqual(Digest.Sha256) ? (_sha256, 32) : algorithm.SequenceEqual(Digest.Sha512) ? (_sha512, 64) : (_sha256, 0);
        return length > 0
            && digest.Length - colon - 1 == length * 2
            && Convert.FromHexString(digest[(colon + 1)..], hash[..length], out _, out var written) == OperationStatus.Done
            && written == length;
    }

    private byte MediaTypeNumber(string mediaType)
    {
        for (var i = 1; i < _mediaTypeCount; i++)
        {
            if (_mediaTypes[i] == mediaType)
            {
                return (byte)i;
            }
        }

        if (_mediaTypeCount == _mediaTypes.Length)
        {
            throw new InvalidOperationException("more than 255 manifest media types");
        }

        _mediaTypes[_mediaTypeCount] = mediaType;
        return (byte)_mediaTypeCount++;
    }

    // Interlocked is a full fence: the odd value is visible before any change, and every change before the even one.
    private void BeginWrite() => Interlocked.Increment(ref _sequence);

    private void EndWrite() => Interlocked.Increment(ref _sequence);

    private bool Validate(int sequence)
    {
        // The reads above must complete before the sequence is read again (a load-load fence; free on x64).
        Interlocked.MemoryBarrier();
        return Volatile.Read(ref _sequence) == sequence;
    }
}

internal readonly record struct IndexStatistics(int Repositories, int Manifests, int Tags, long Bytes);
