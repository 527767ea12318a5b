using System.Text.Json;
using Microsoft.Extensions.Options;

namespace Berth.Agent.Configuration;

/// <summary>Small JSON files in the agent's state dir, written atomically (temp file + rename) and readable only by the agent.</summary>
internal sealed class StateDirectory(IOptions<AgentOptions> options)
{
    private static readonly JsonSerializerOptions s_json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public string Path => options.Value.StateDirectory;

    public T? Read<T>(string name)
        where T : class
    {
        var file = System.IO.Path.Combine(Path, name);
        return File.Exists(file) ? JsonSerializer.Deserialize<T>(File.ReadAllText(file), s_json) : null;
    }

    /// <summary>Writes <paramref name="name"/> atomically; <paramref name="durable"/> also waits for the disk (fsync).</summary>
    public void Write<T>(string name, T value, bool durable = true)
    {
        Directory.CreateDirectory(Path);
        var file = System.IO.Path.Combine(Path, name);
        var temp = file + ".tmp";
        using (var stream = new FileStream(temp, new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite }))
        {
            JsonSerializer.Serialize(stream, value, s_json);
            stream.Flush(flushToDisk: durable);
        }

        File.Move(temp, file, overwrite: true);
    }
}
