namespace Berth.Core.IO;

/// <summary>
/// Files that hold secrets or identity (token files, signing keys, an agent's credential): readable by the owner
/// only from the first byte on, and replaced atomically so a crash never leaves a half-written file behind.
/// </summary>
public static class OwnerOnlyFile
{
    /// <summary>Writes <paramref name="content"/> to <paramref name="path"/> through a temporary file and a rename.</summary>
    /// <param name="path">The file to create or replace; its directory is created (0700) when missing.</param>
    /// <param name="content">The bytes to write.</param>
    /// <param name="durable">Also wait for the disk (fsync) before the rename.</param>
    public static void WriteAtomic(string path, ReadOnlySpan<byte> content, bool durable = true)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(directory);
        }
        else
        {
            Directory.CreateDirectory(directory, PrivateDirectory.DirectoryMode);
        }

        var temporary = path + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var stream = new FileStream(temporary, options))
        {
            stream.Write(content);
            stream.Flush(flushToDisk: durable);
        }

        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>Writes <paramref name="text"/> as UTF-8; see <see cref="WriteAtomic(string, ReadOnlySpan{byte}, bool)"/>.</summary>
    public static void WriteAtomic(string path, string text, bool durable = true) =>
        WriteAtomic(path, System.Text.Encoding.UTF8.GetBytes(text), durable);
}
