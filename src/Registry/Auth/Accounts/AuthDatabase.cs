using Berth.Registry.Storage.Sqlite;
using Microsoft.Data.Sqlite;

namespace Berth.Registry.Auth.Accounts;

/// <summary>
/// The accounts database (<see cref="RegistryDataDirectory.AuthDatabase"/>): its own file, so identity data migrates on its own. The
/// schema is <see cref="AuthDbContext"/>'s; at run time it is read and written with plain SQL (see
/// <see cref="SqliteConnections"/> for why).
/// </summary>
internal sealed class AuthDatabase(string databasePath)
{
    public string ConnectionString { get; } = SqliteConnections.ConnectionString(databasePath);

    public Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken) =>
        SqliteConnections.OpenAsync(ConnectionString, cancellationToken);

    /// <summary>
    /// Times as <see cref="AuthDbContext"/> stores them (EF Core's DateTimeOffsetToBinaryConverter): SQLite cannot
    /// order DateTimeOffset text, so an integer of milliseconds-and-a-bit, which orders and compares in SQL.
    /// </summary>
    public static long ToStored(DateTimeOffset value) => ((value.Ticks / 1000) << 11) | ((long)value.Offset.TotalMinutes & 0x07FF);

    public static DateTimeOffset FromStored(long value) =>
        new(new DateTime((value >> 11) * 1000), new TimeSpan(0, (int)((value << 53) >> 53), 0));
}
