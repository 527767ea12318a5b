using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Protobuf;

namespace Berth.Cli.Common;

/// <summary>How results are printed: aligned tables for people, JSON for scripts.</summary>
/// <remarks>Not an enum: help prints a default with <see cref="ToString"/>, and users write <c>table</c>, not <c>Table</c>.</remarks>
internal readonly record struct OutputFormat(string Name)
{
    public static readonly OutputFormat Table = new("table");
    public static readonly OutputFormat Json = new("json");

    public override string ToString() => Name;
}

/// <summary>
/// Everything a command prints goes through here, so that <c>--output json</c> is one switch: in JSON mode the
/// result is one JSON document on stdout and progress goes to stderr; in table mode both go to stdout.
/// </summary>
internal sealed class CliOutput(TextWriter output, TextWriter error, OutputFormat format)
{
    private static readonly JsonFormatter s_protobuf = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(true).WithFormatEnumsAsIntegers(false));
    private static readonly JsonSerializerOptions s_indented = new() { WriteIndented = true };

    public OutputFormat Format { get; } = format;

    public bool IsJson => Format == OutputFormat.Json;

    public TextWriter Out { get; } = output;

    public TextWriter Error { get; } = error;

    /// <summary>A line for people (a result in table mode, progress in JSON mode).</summary>
    public void Say(string line) => (IsJson ? Error : Out).WriteLine(line);

    /// <summary>
    /// Prints rows under headers with aligned columns (table mode) — callers choose JSON separately. Every cell goes
    /// through <see cref="Escape"/>: names and reasons come from hosts and users the operator does not control.
    /// </summary>
    public void Table(IReadOnlyList<string> headers, IEnumerable<IReadOnlyList<string>> rows)
    {
        headers = [.. headers.Select(Escape)];
        var all = rows.Select(r => (IReadOnlyList<string>)[.. r.Select(Escape)]).ToList();
        var widths = headers.Select((h, i) => Math.Max(h.Length, all.Count == 0 ? 0 : all.Max(r => i < r.Count ? r[i].Length : 0))).ToArray();
        Out.WriteLine(Row(headers, widths));
        foreach (var row in all)
        {
            Out.WriteLine(Row(row, widths));
        }
    }

    /// <summary>Prints name/value pairs one per line, names aligned (a describe in table mode).</summary>
    public void Fields(IEnumerable<(string Name, string Value)> fields)
    {
        var list = fields.ToList();
        var width = list.Count == 0 ? 0 : list.Max(f => f.Name.Length) + 1;
        foreach (var (name, value) in list)
        {
            Out.WriteLine($"{(name + ":").PadRight(width)} {Escape(value)}");
        }
    }

    /// <summary>
    /// <paramref name="text"/> with every character that could steer a terminal spelled out instead: C0 controls (ESC,
    /// BEL, CR, LF, TAB, ...), DEL and C1 controls as <c>\x1b</c>, and the Unicode bidirectional overrides, embeddings,
    /// isolates and marks as <c>\u202e</c>. A host name like <c>"web\x1b]2;pwned\x07"</c> then shows as text instead of
    /// retitling the operator's window, and <c>"\u202e"</c> cannot make a column read backwards.
    /// </summary>
    public static string Escape(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var first = text.AsSpan().IndexOfAny(s_unsafe);
        if (first < 0)
        {
            return text;
        }

        var escaped = new System.Text.StringBuilder(text.Length + 8).Append(text, 0, first);
        foreach (var c in text.AsSpan(first))
        {
            if (s_unsafe.Contains(c))
            {
                escaped.Append(c < 0x100 ? $"\\x{(int)c:x2}" : $"\\u{(int)c:x4}");
            }
            else
            {
                escaped.Append(c);
            }
        }

        return escaped.ToString();
    }

    // C0, DEL, C1; ALM, LRM/RLM, LRE/RLE/PDF/LRO/RLO, LRI/RLI/FSI/PDI.
    private static readonly System.Buffers.SearchValues<char> s_unsafe = System.Buffers.SearchValues.Create(
        [.. Enumerable.Range(0, 0x20).Select(i => (char)i), (char)0x7f, .. Enumerable.Range(0x80, 0x20).Select(i => (char)i),
         '\u061c', '\u200e', '\u200f', '\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u2066', '\u2067', '\u2068', '\u2069']);

    /// <summary>Prints a JSON document, indented.</summary>
    public void Json(JsonNode? node) => Out.WriteLine(node?.ToJsonString(s_indented) ?? "null");

    /// <summary>Prints one message as JSON (camelCase field names, enums by name).</summary>
    public void Json(IMessage message) => Json(ToNode(message));

    /// <summary>Prints messages as a JSON array.</summary>
    public void Json(IEnumerable<IMessage> messages) => Json(new JsonArray([.. messages.Select(ToNode)]));

    public static JsonNode? ToNode(IMessage message) => JsonNode.Parse(s_protobuf.Format(message));

    private static string Row(IReadOnlyList<string> cells, int[] widths) =>
        string.Join("  ", cells.Select((c, i) => i == cells.Count - 1 ? c : c.PadRight(widths[i]))).TrimEnd();
}
