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
}
