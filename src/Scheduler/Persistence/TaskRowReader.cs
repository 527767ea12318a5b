using System.Text;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Berth.Scheduler.Persistence;

/// <summary>
/// Reads the tasks table at start-up straight from SQLite's statement (sqlite3_step and column accessors), not through
/// ADO.NET's data reader: a million rows cost about 3 µs each through SqliteDataReader (async reads, boxed blobs, a
/// string per text column) against well under 1 µs this way. Cluster and instance ids repeat across rows and become
/// one string each, as do task-definition ARNs and groups.
/// </summary>
internal static class TaskRowReader
{
    /// <summary>Every task, but those that stopped before the given time (in milliseconds): they are no longer visible.</summary>
    public const string Query =
        "SELECT Id, Cluster, InstanceId, DesiredStatus, LastStatus, DesiredSeq, AgentSequence, ClientToken, Ports, TaskDefinitionArn, GroupName, Cpu, Memory, StoppedAtMs, Details " +
        // coalesce keeps SQLite from answering through the StoppedAtMs index (a lookup per row); a scan reads in table order.
        "FROM tasks WHERE coalesce(StoppedAtMs, ?1) >= ?1";

    public static IEnumerable<TaskRow> Read(SqliteConnection connection, long visibleSinceMs, CancellationToken cancellationToken)
    {
        var db = connection.Handle ?? throw new InvalidOperationException("The connection is not open.");
        Check(db, raw.sqlite3_prepare_v2(db, Query, out var statement));
        using (statement)
        {
            Check(db, raw.sqlite3_bind_int64(statement, 1, visibleSinceMs));
            var strings = new Utf8StringPool();
            var rows = 0;
            while (true)
            {
                var rc = raw.sqlite3_step(statement);
                if (rc == raw.SQLITE_DONE)
                {
                    yield break;
                }

                if (rc != raw.SQLITE_ROW)
                {
                    Check(db, rc);
                }

                if ((++rows & 0xFFF) == 0)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                }

                yield return new TaskRow
                {
                    Id = Encoding.UTF8.GetString(raw.sqlite3_column_blob(statement, 0)),
                    Cluster = strings.Get(raw.sqlite3_column_blob(statement, 1)),
                    InstanceId = strings.Get(raw.sqlite3_column_blob(statement, 2)),
                    DesiredStatus = raw.sqlite3_column_int(statement, 3),
                    LastStatus = raw.sqlite3_column_int(statement, 4),
                    DesiredSeq = raw.sqlite3_column_int64(statement, 5),
                    AgentSequence = raw.sqlite3_column_int64(statement, 6),
                    ClientToken = raw.sqlite3_column_type(statement, 7) == raw.SQLITE_NULL ? null : Encoding.UTF8.GetString(raw.sqlite3_column_blob(statement, 7)),
                    Ports = Encoding.UTF8.GetString(raw.sqlite3_column_blob(statement, 8)),
                    TaskDefinitionArn = strings.Get(raw.sqlite3_column_blob(statement, 9)),
                    GroupName = strings.Get(raw.sqlite3_column_blob(statement, 10)),
                    Cpu = raw.sqlite3_column_int(statement, 11),
                    Memory = raw.sqlite3_column_int(statement, 12),
                    StoppedAtMs = raw.sqlite3_column_type(statement, 13) == raw.SQLITE_NULL ? null : raw.sqlite3_column_int64(statement, 13),
                    Details = raw.sqlite3_column_type(statement, 14) == raw.SQLITE_NULL ? null : raw.sqlite3_column_blob(statement, 14).ToArray(),
                };
            }
        }
    }

    private static void Check(sqlite3 db, int rc)
    {
        if (rc != raw.SQLITE_OK)
        {
            throw new SqliteException($"Reading the tasks failed: {raw.sqlite3_errmsg(db).utf8_to_string()}", rc);
        }
    }

    /// <summary>One string per distinct short ASCII value, found without allocating when it is already known.</summary>
    private sealed class Utf8StringPool
    {
        private const int MaxPooledLength = 128;
        private readonly Dictionary<string, string> _pool = new(StringComparer.Ordinal);
        private readonly Dictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> _lookup;
        private readonly char[] _chars = new char[MaxPooledLength];

        public Utf8StringPool() => _lookup = _pool.GetAlternateLookup<ReadOnlySpan<char>>();

        public string Get(ReadOnlySpan<byte> utf8)
        {
            // Ids and names are ASCII; anything else (or long) is decoded as it is.
            if (utf8.Length > MaxPooledLength || !Ascii.IsValid(utf8))
            {
                return Encoding.UTF8.GetString(utf8);
            }

            var chars = _chars.AsSpan(0, utf8.Length);
            Ascii.ToUtf16(utf8, chars, out _);
            if (_lookup.TryGetValue(chars, out var pooled))
            {
                return pooled;
            }

            var value = new string(chars);
            _pool[value] = value;
            return value;
        }
    }
}
