using QueueCtl.Storage.Postgres;
using QueueCtl.Storage.Sqlite;

namespace QueueCtl.Storage;

/// <summary>The one place that turns a queue's address into an open driver.</summary>
public static class QueueDrivers
{
    /// <summary>
    /// Opens the queue at <paramref name="address"/>: a PostgreSQL URI (postgres://, postgresql://) or Npgsql
    /// connection string (Host=…;Database=…) opens the PostgreSQL driver; anything else is the path of an SQLite file
    /// (created when missing). The schema is brought up to date either way.
    /// </summary>
    public static IQueueDriver Open(string address, QueueOpenOptions? options = null)
    {
        options ??= QueueOpenOptions.Default;
        return QueueAddress.IsServer(address)
            ? PostgresDriver.Open(address, options)
            : SqliteDriver.Open(address, options.Clock);
    }

    /// <summary>
    /// Checks a queue without opening it as a queue: it must neither create a missing one nor migrate one. SQLite
    /// files only; a server has its own tools (amcheck, pg_dump), and a PostgreSQL address is refused.
    /// </summary>
    public static QueueHealthReport Check(string address) => QueueMaintenance.Check(FileOnly(address, "checked"));

    /// <summary>Mends what <see cref="Check"/> found and is safe to recompute (SQLite files only).</summary>
    public static QueueHealthReport Repair(string address) => QueueMaintenance.Repair(FileOnly(address, "repaired"));

    /// <summary>Writes a consistent copy of an open SQLite queue to <paramref name="destination"/>.</summary>
    public static FileInfo Backup(IQueueDriver queue, string destination, bool overwrite) => queue is SqliteDriver sqlite
        ? QueueBackup.Write(sqlite, destination, overwrite)
        : throw ServerRefusal(queue.Address, "backed up", "pg_dump --schema");

    private static string FileOnly(string address, string verb) =>
        QueueAddress.IsServer(address) ? throw ServerRefusal(QueueAddress.Mask(address), verb, "amcheck and pg_dump") : address;

    private static QueueException ServerRefusal(string address, string verb, string tools) =>
        new(QueueErrorCode.UnsupportedDatabaseAddress,
            $"'{address}' is a PostgreSQL queue: only SQLite queue files are {verb} by QueueCtl; use PostgreSQL's own tools ({tools}).");
}
