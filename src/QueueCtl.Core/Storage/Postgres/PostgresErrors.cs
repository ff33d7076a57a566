using System.Net.Sockets;
using Npgsql;

namespace QueueCtl.Storage.Postgres;

/// <summary>
/// Turns what Npgsql and the network throw into QueueException(DatabaseUnavailable) with a message safe to show:
/// the server's SQLSTATE and message text, or the kind of network failure, never the connection string. Any text
/// that still holds the password has it masked.
/// </summary>
internal static class PostgresErrors
{
    public const string LockNotAvailable = "55P03";
    public const string QueryCanceled = "57014";
    public const string DataCorrupted = "XX001";
    public const string IndexCorrupted = "XX002";

    /// <summary>Npgsql reports network and server failures as NpgsqlException; the rest are raw failures of the socket.</summary>
    public static bool IsStoreFailure(Exception ex) => ex is NpgsqlException or SocketException or TimeoutException;

    public static QueueException Wrap(Exception ex, string address, string? password, string what = "cannot be used")
    {
        var reason = Reason(ex);
        if (!string.IsNullOrEmpty(password) && password.Length >= 3) reason = reason.Replace(password, "***", StringComparison.Ordinal);
        return new QueueException(QueueErrorCode.DatabaseUnavailable, $"The PostgreSQL queue '{address}' {what}: {reason}", ex);
    }

    private static string Reason(Exception ex)
    {
        if (Find<PostgresException>(ex) is { } pg)
            return $"{pg.SqlState}: {pg.MessageText}";
        if (Find<SocketException>(ex) is { } socket)
            return $"network error ({socket.SocketErrorCode}): {socket.Message}";
        if (Find<TimeoutException>(ex) is not null)
            return "the server did not answer in time";
        if (Find<IOException>(ex) is { } io)
            return $"the connection broke: {io.Message}";
        // Npgsql's own messages ("Failed to connect to host:port", "No password has been provided…") name no secret.
        return ex.Message;
    }

    public static T? Find<T>(Exception? ex) where T : Exception
    {
        for (; ex is not null; ex = ex.InnerException)
            if (ex is T found) return found;
        return null;
    }

    /// <summary>A deadlock (40P01) or serialization failure (40001): the transaction was rolled back and may simply run again.</summary>
    public static bool IsRetryable(PostgresException ex) => ex.SqlState is "40P01" or "40001";

    public static string? SqlState(Exception? ex) => Find<PostgresException>(ex)?.SqlState;

    /// <summary>
    /// A broken connection that is not a timeout: the server closed it or said it is going away. A link that stopped
    /// answering is not cured by asking again at once.
    /// </summary>
    public static bool IsClosedConnection(Exception ex) => IsBrokenConnection(ex) && Find<TimeoutException>(ex) is null;

    /// <summary>
    /// True when the connection itself is gone (network, server restart, admin shutdown): the pool's other idle
    /// connections are most likely gone too.
    /// </summary>
    public static bool IsBrokenConnection(Exception ex) =>
        Find<PostgresException>(ex) is { } pg
            ? pg.SqlState.StartsWith("08", StringComparison.Ordinal) || pg.SqlState.StartsWith("57P", StringComparison.Ordinal)
            : Find<IOException>(ex) is not null || Find<SocketException>(ex) is not null || Find<TimeoutException>(ex) is not null
              || ex is NpgsqlException { IsTransient: true };
}
