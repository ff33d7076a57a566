using System.Collections.Concurrent;
using Npgsql;

namespace QueueCtl.Storage.Postgres;

/// <summary>
/// One connection pool per server and settings, shared by every driver a process opens: a session that runs a
/// cmdlet a hundred times, or a dashboard that opens the queue per request, connects and authenticates once (a
/// SCRAM exchange and Npgsql's type loading cost tens of milliseconds), not once per call. Pools outlive drivers;
/// idle connections close by themselves after Npgsql's idle lifetime.
/// </summary>
internal static class PostgresDataSources
{
    private static readonly ConcurrentDictionary<string, Lazy<NpgsqlDataSource>> Pools = new(StringComparer.Ordinal);

    public static NpgsqlDataSource Get(NpgsqlConnectionStringBuilder settings)
    {
        var key = settings.ConnectionString;
        return Pools.GetOrAdd(key, k => new Lazy<NpgsqlDataSource>(() => NpgsqlDataSource.Create(k))).Value;
    }
}
