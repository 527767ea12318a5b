using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;

namespace Berth.Registry.Storage.Sqlite;

/// <summary>
/// Read-only connections for the reads that reach the database on a cache miss (manifest bodies, blob lookups,
/// lists). WAL lets them read while the writer commits. Each keeps its statements prepared, so a lookup costs one
/// bind and one step; a small page cache each, since the OS caches the file anyway and RSS is a budget.
/// </summary>
internal sealed class SqliteReadPool(string connectionString) : IDisposable
{
    private const int MaxIdle = 8;

    private readonly ConcurrentBag<Reader> _idle = [];
    private bool _disposed;

    public void Dispose()
    {
        _disposed = true;
        while (_idle.TryTake(out var reader))
        {
            reader.Dispose();
        }
    }

    public T Read<T>(Func<Reader, T> read)
    {
        var reader = _idle.TryTake(out var idle) ? idle : Open();
        var healthy = false;
        try
        {
            var result = read(reader);
            healthy = true;
            return result;
        }
        finally
        {
            if (healthy && !_disposed && _idle.Count < MaxIdle)
            {
                _idle.Add(reader);
            }
            else
            {
                reader.Dispose();
            }
        }
    }

    private Reader Open()
    {
        var connection = new SqliteConnection(connectionString);
        try
        {
            connection.Open();
            using var pragmas = connection.Command(SqliteConnections.Pragmas + " PRAGMA query_only=1; PRAGMA cache_size=-1024;");
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
