namespace Berth.Core.IO;

/// <summary>
/// A service's data directory is readable by its owner only: directories 0700, files 0600. The state in them holds
/// secrets (tokens, keys, password hashes) and task definitions with their environment values in clear text.
/// Directories and files made by an older version, or by hand, with looser modes are tightened when a service starts.
/// </summary>
public static class PrivateDirectory
{
    /// <summary>rwx for the owner, nothing for anyone else.</summary>
    public const UnixFileMode DirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>rw for the owner, nothing for anyone else.</summary>
    public const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private const UnixFileMode GroupAndOthers = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    /// <summary>Creates <paramref name="path"/> (and missing parents) as 0700, or takes group and other bits off an existing one.</summary>
    /// <returns>The full path.</returns>
    /// <exception cref="InvalidOperationException">The directory cannot be made private (e.g. it belongs to another user).</exception>
    public static string Ensure(string path)
    {
        var full = Path.GetFullPath(path);
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(full);
            return full;
        }

        // The mode argument applies to directories this call creates; umask can only take bits away from 0700.
        Directory.CreateDirectory(full, DirectoryMode);
        Tighten(full);
        return full;
    }

    /// <summary>
    /// Makes an existing file or directory at <paramref name="path"/> owner-only (group and other bits off); a missing
    /// one is left missing.
    /// </summary>
    /// <exception cref="InvalidOperationException">The mode cannot be changed.</exception>
    public static void Tighten(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        UnixFileMode mode;
        try
        {
            mode = File.GetUnixFileMode(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return;
        }

        if ((mode & GroupAndOthers) == 0)
        {
            return;
        }

        try
        {
            File.SetUnixFileMode(path, mode & ~GroupAndOthers);
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            throw new InvalidOperationException($"Cannot make {path} private to its owner (mode {Convert.ToString((int)mode, 8)}): {e.Message}", e);
        }
    }

    /// <summary>
    /// Creates an empty 0600 file at <paramref name="path"/> unless one exists, and tightens an existing one. For
    /// files that a library creates with its own default mode otherwise: SQLite creates a database 0644 (less the
    /// umask) but gives its <c>-wal</c> and <c>-shm</c> files the mode of the database file, so a database made here
    /// first keeps all three private. An empty file is an empty SQLite database.
    /// </summary>
    public static void EnsureFile(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        try
        {
            using var created = new FileStream(path, new FileStreamOptions { Mode = System.IO.FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = FileMode });
        }
        catch (IOException) when (File.Exists(path))
        {
            Tighten(path);
        }
    }

    /// <summary><see cref="Tighten"/> for a SQLite database and the journal files beside it (<c>-wal</c>, <c>-shm</c>, <c>-journal</c>).</summary>
    public static void EnsureDatabase(string path)
    {
        EnsureFile(path);
        foreach (var suffix in (string[])["-wal", "-shm", "-journal"])
        {
            Tighten(path + suffix);
        }
    }
}
