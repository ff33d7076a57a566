namespace QueueCtl.Storage.Postgres;

/// <summary>The PostgreSQL driver (being built).</summary>
public sealed class PostgresDriver
{
    public static IQueueDriver Open(string address, QueueOpenOptions options) =>
        throw new QueueException(QueueErrorCode.UnsupportedDatabaseAddress,
            $"'{QueueAddress.Mask(address)}' is a PostgreSQL address; this build of QueueCtl has no PostgreSQL driver yet.");
}
