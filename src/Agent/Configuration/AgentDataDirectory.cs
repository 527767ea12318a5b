using System.Text.Json;
using Berth.Core.IO;

namespace Berth.Agent.Configuration;

/// <summary>
/// Every path under the agent's data directory (<c>--data-dir</c>, <c>/var/lib/berth/agent</c> by default), named
/// once, and the small JSON files in it: written atomically (temp file + rename) and readable only by the agent.
/// <see cref="Open"/> makes the directory 0700 and its files 0600, tightening what an older version left looser.
/// </summary>
/// <remarks>
/// <code>
/// &lt;data-dir&gt;/        0700
///   instance.json     this host's instance id and credential (the scheduler's answer to Register)
///   images.json       when each image was last used (image cleanup)
///   stopped-tasks.json  stopped tasks whose containers are kept for the cleanup wait (StoppedTaskRetention)
///   logs/             the last lines of output of stopped tasks, one file per task (LogArchive)
///   awsvpc/           one record per awsvpc sandbox: its address and network (TaskNetworking)
///   cni/ipam/         CNI host-local IPAM's allocations, one file per address (CniBridge)
/// </code>
/// </remarks>
internal sealed class AgentDataDirectory
{
    public const string InstanceFile = "instance.json";
    public const string ImagesFile = "images.json";
    public const string StoppedTasksFile = "stopped-tasks.json";

    private static readonly JsonSerializerOptions s_json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    private AgentDataDirectory(string root)
    {
        Root = root;
    }

    /// <summary>The data directory, as a full path.</summary>
    public string Root { get; }

    public string Instance => Path.Combine(Root, InstanceFile);

    public string Images => Path.Combine(Root, ImagesFile);

    /// <summary>Stopped tasks whose containers are kept (<c>stopped-tasks.json</c>).</summary>
    public string StoppedTasks => Path.Combine(Root, StoppedTasksFile);

    /// <summary>Saved last lines of stopped tasks' output (<c>logs/</c>), one JSON file per task.</summary>
    public string SavedLogs => Path.Combine(Root, "logs");

    /// <summary>awsvpc sandbox records (<c>awsvpc/</c>).</summary>
    public string Awsvpc => Path.Combine(Root, "awsvpc");

    /// <summary>CNI host-local IPAM's data directory (<c>cni/ipam/</c>); the plugin writes there itself.</summary>
    public string CniIpam => Path.Combine(Root, "cni", "ipam");

    /// <summary>The layout of <paramref name="dataDirectory"/>, with the directory and its known files made private.</summary>
    public static AgentDataDirectory Open(string dataDirectory)
    {
        var layout = new AgentDataDirectory(PrivateDirectory.Ensure(dataDirectory));
        PrivateDirectory.Tighten(layout.Instance);
        PrivateDirectory.Tighten(layout.Images);
        PrivateDirectory.Tighten(layout.StoppedTasks);
        PrivateDirectory.Tighten(layout.SavedLogs);
        return layout;
    }

    public static T? Read<T>(string path)
        where T : class =>
        File.Exists(path) ? JsonSerializer.Deserialize<T>(File.ReadAllText(path), s_json) : null;

    /// <summary>Writes <paramref name="path"/> atomically; <paramref name="durable"/> also waits for the disk (fsync).</summary>
    public static void Write<T>(string path, T value, bool durable = true) =>
        OwnerOnlyFile.WriteAtomic(path, JsonSerializer.SerializeToUtf8Bytes(value, s_json), durable);
}
