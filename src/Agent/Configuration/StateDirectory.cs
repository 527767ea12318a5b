using System.Text.Json;
using Berth.Core.IO;
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
        OwnerOnlyFile.WriteAtomic(System.IO.Path.Combine(Path, name), JsonSerializer.SerializeToUtf8Bytes(value, s_json), durable);
    }
}
