using System.Buffers;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace Berth.Registry.Outbox;

/// <summary>
/// Events' UTF-8 JSON written back to back into one reused buffer, a chunk at a time, for
/// <see cref="OutboxAppend.InsertAsync"/>: the flush of pull events writes each event once, as UTF-8, and the outbox
/// inserts the chunk with one statement, so no event becomes a .NET string or an array of its own. One owner at a time
/// (the flush of pull events runs one at a time).
/// </summary>
internal sealed class OutboxPayloads : IDisposable
{
    /// <summary>How many bytes of events make a chunk: one statement's worth, and the most the buffer holds for long.</summary>
    public const int ChunkBytes = 256 * 1024;

    private readonly ArrayBufferWriter<byte> _buffer = new(ChunkBytes + (ChunkBytes / 4));
    private readonly List<int> _ends = [];

    public OutboxPayloads() => Writer = new Utf8JsonWriter(_buffer);

    /// <summary>Where the next event is written: one JSON value, then <see cref="EndEvent"/>.</summary>
    public Utf8JsonWriter Writer { get; }

    public int Count => _ends.Count;

    /// <summary>Whether the chunk is full: time to insert it.</summary>
    public bool IsFull => _buffer.WrittenCount >= ChunkBytes;

    public void Dispose() => Writer.Dispose();

    /// <summary>Closes the event just written.</summary>
    public void EndEvent()
    {
        Writer.Flush();
        // Ready for the next top-level value, after this one.
        Writer.Reset();
        _ends.Add(_buffer.WrittenCount);
    }

    public void Clear()
    {
        Writer.Reset();
        _buffer.ResetWrittenCount();
        _ends.Clear();
    }

    /// <summary>
    /// The buffer's array (the events and, after them, bytes of no meaning) and the events' spans in it as a JSON array
    /// of [start, length] pairs, for the insert's SQL to cut the events out with <c>substr</c>.
    /// </summary>
    internal (byte[] Bytes, string Spans) ForInsert()
    {
        if (!MemoryMarshal.TryGetArray(_buffer.WrittenMemory, out var segment) || segment.Array is null || segment.Offset != 0)
        {
            throw new InvalidOperationException("the payload buffer is not one array");
        }

        var spans = new StringBuilder(_ends.Count * 12).Append('[');
        var start = 0;
        for (var i = 0; i < _ends.Count; i++)
        {
            spans.Append(i == 0 ? "[" : ",[").Append(start).Append(',').Append(_ends[i] - start).Append(']');
            start = _ends[i];
        }

        return (segment.Array, spans.Append(']').ToString());
    }
}
