using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;

namespace Berth.Registry.Storage.Sqlite;

/// <summary>
/// Read-only connections for the reads that reach the database on a cache miss (manifest bodies, blob lookups,
/// lists). WAL lets them read while the writer commits. Each keeps its statements prepared, so a lookup costs one
/// bind and one step. At most <see cref="MaxReaders"/> of them, each with a small page cache (the OS caches the file
/// anyway): a reader's schema and cache cost ~1 MiB and RSS is a budget; a read takes microseconds, so a caller that
/// finds them all busy waits that long.
/// </summary>
internal sealed class SqliteReadPool(string connectionString) : IDisposable
{
    private const int MaxReaders = 4;

    private readonly ConcurrentBag<Reader> _idle = [];
    private readonly SemaphoreSlim _slots = new(MaxReaders, MaxReaders);
    private bool _disposed;

    public void Dispose()
    {
        _disposed = true;
        while (_idle.TryTake(out var reader))
        {
            reader.Dispose();
        }

        _slots.Dispose();
    }

    public T Read<T>(Func<Reader, T> read)
    {
        _slots.Wait();
        Reader? reader = null;
        var healthy = false;
        try
        {
            reader = _idle.TryTake(out var idle) ? idle : Open();
            var result = read(reader);
            healthy = true;
            return result;
        }
        finally
        {
            if (healthy && !_disposed)
            {
                _idle.Add(reader!);
            }
            else
            {
                reader?.Dispose();
            }

            _slots.Release();
        }
    }

    private Reader Open()
    {
#pragma warning disable CA2000 // the returned Reader owns the connection; the catch below disposes it on failure.
        var connection = new SqliteConnection(connectionString);
#pragma warning restore CA2000
        try
        {
            connection.Open();
            using var pragmas = connection.Command(SqliteConnections.Pragmas + " PRAGMA query_only=1; PRAGMA cache_size=-512;");
            pragmas.ExecuteNonQuery();
            return new Reader(connection);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>One connection and its prepared statements, used by one caller at a time.</summary>
    internal sealed class Reader(SqliteConnection connection) : IDisposable
    {
        private readonly Dictionary<string, SqliteCommand> _commands = new(StringComparer.Ordinal);

        public SqliteConnection Connection => connection;

        /// <summary>The prepared command for <paramref name="sql"/> with its parameters declared (values set by the caller).</summary>
        public SqliteCommand Command(string sql, params string[] parameters)
        {
            if (!_commands.TryGetValue(sql, out var command))
            {
                command = connection.Command(sql);
                foreach (var name in parameters)
                {
                    command.Parameters.Add(new SqliteParameter { ParameterName = name });
                }

                command.Prepare();
                _commands[sql] = command;
            }

            return command;
        }

        public void Dispose()
        {
            foreach (var command in _commands.Values)
            {
                command.Dispose();
            }

            connection.Dispose();
        }
    }
}
