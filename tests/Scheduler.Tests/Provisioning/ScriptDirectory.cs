using Berth.Scheduler.Provisioning;
using Berth.Scheduler.Provisioning.Exec;
using Microsoft.Extensions.Logging.Abstractions;

namespace Berth.Scheduler.Tests.Provisioning;

/// <summary>A temp folder of fake provisioner scripts the test writes, and an exec provisioner pointed at them.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal sealed class ScriptDirectory : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("berth-exec-provisioner-");

    public ScriptDirectory()
    {
        // Defaults that succeed; each test replaces what it is about.
        Write("create", """
            echo "$1" >>"$DIR/created"
            echo "{\"name\":\"$1\",\"address\":\"192.0.2.7\",\"providerId\":\"vm-$1\"}"
            """);
        Write("destroy", """echo "$1" >>"$DIR/destroyed" """);
        Write("list", """echo '[]'""");
    }

    public string Path => _dir.FullName;

    public ProvisioningOptions Options { get; } = new() { Kind = "exec", RetryBackoff = TimeSpan.Zero, MaxRetryBackoff = TimeSpan.Zero };

    /// <summary>Writes script <paramref name="name"/> (bash, with <c>$DIR</c> set to this folder) and points the options at it.</summary>
    public void Write(string name, string body)
    {
        var path = System.IO.Path.Combine(Path, name);
        File.WriteAllText(path, $"#!/usr/bin/env bash\nDIR='{Path}'\n{body}\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        switch (name)
        {
            case "create":
                Options.Exec.CreateScript = path;
                break;
            case "destroy":
                Options.Exec.DestroyScript = path;
                break;
            case "list":
                Options.Exec.ListScript = path;
                break;
        }
    }

    /// <summary>The lines of a file the scripts append to (<c>created</c>, <c>destroyed</c>); empty when absent.</summary>
    public string[] Lines(string file)
    {
        var path = System.IO.Path.Combine(Path, file);
        return File.Exists(path) ? File.ReadAllLines(path) : [];
    }

    /// <summary>The full path of <paramref name="file"/> in this folder.</summary>
    public string PathOf(string file) => System.IO.Path.Combine(Path, file);

    public ExecHostProvisioner Exec(TimeProvider? time = null) =>
        new(Microsoft.Extensions.Options.Options.Create(Options), time ?? TimeProvider.System, NullLogger<ExecHostProvisioner>.Instance);

    /// <summary>The caller's wrapper (destroy after a failed create, retries) around <see cref="Exec"/>.</summary>
    public HostProvisioning Caller(TimeProvider? time = null) =>
        new(Exec(time), Microsoft.Extensions.Options.Options.Create(Options), time ?? TimeProvider.System, NullLogger<HostProvisioning>.Instance);

    public void Dispose() => _dir.Delete(recursive: true);
}
