using Microsoft.Data.Sqlite;

namespace Berth.Registry.Storage;

/// <summary>Recognizes "the disk is full" in whatever part of storage hit it (a blob write, a directory, SQLite).</summary>
internal static class StorageFull
{
    // errno values .NET puts in IOException.HResult on Unix; Windows' HRESULTs for the same.
    private const int Enospc = 28;
    private const int Edquot = 122;
    private const int WindowsDiskFull = unchecked((int)0x80070070);
    private const int WindowsHandleDiskFull = unchecked((int)0x80070027);
    private const int SqliteFull = 13;

    public static bool Is(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case SqliteException sqlite when sqlite.SqliteErrorCode == SqliteFull:
                    return true;
                case IOException io when io.HResult is Enospc or Edquot or WindowsDiskFull or WindowsHandleDiskFull:
                    return true;
            }
        }

        return false;
    }
}
