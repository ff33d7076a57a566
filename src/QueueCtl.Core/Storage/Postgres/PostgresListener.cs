using Npgsql;

namespace QueueCtl.Storage.Postgres;

/// <summary>
/// Waits for other processes' changes to the queue through LISTEN/NOTIFY on the queue's channel, on a connection of
/// its own. Writers notify in the transaction of their change, so a notification arrives only once the change is
/// visible. A background task waits on the connection (no thread, no polling while idle); when the connection breaks
/// it reconnects with backoff and reports a change, since notifications may have been missed meanwhile. Nothing
/// here throws out of <see cref="Wait"/>. This driver's own notifications (its token) are not changes "by another
/// connection" and are ignored. A notification's payload is "token:kinds" (<see cref="QueueChanges"/> as a number);
/// only the kinds the listener was opened for count as changes. While connected, the listener also tells its driver of
/// configuration changes, so the driver rereads the configuration only when it changed.
/// </summary>
internal sealed class PostgresListener : IQueueListener
{
    private static readonly TimeSpan FirstRetry = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan LastRetry = TimeSpan.FromSeconds(30);

    private readonly PostgresDriver _db;
    private readonly QueueChanges _interest;
    private readonly CancellationTokenSource _stop = new();
    private readonly object _gate = new();
    private readonly Task _loop;
    private QueueChanges _changes;
    private bool _signalled;
    private bool _poked;

    public PostgresListener(PostgresDriver db, QueueChanges interest)
    {
        _db = db;
        _interest = interest;
        NpgsqlConnection? first = null;
        try
        {
            first = Connect(CancellationToken.None).GetAwaiter().GetResult();
            _db.ConfigWatched(true);
        }
        catch (Exception ex) when (PostgresErrors.IsStoreFailure(ex))
        {
            // The loop keeps trying; until then, waits simply time out.
        }
        _loop = Task.Run(() => ListenLoop(first));
    }

    public bool IsWatching => true;

    public void Poke()
    {
        lock (_gate)
        {
            _poked = true;
            Monitor.PulseAll(_gate);
        }
    }

    public QueueChanges TakeChanges()
    {
        lock (_gate)
        {
            var changes = _changes;
            _changes = QueueChanges.None;
            return changes;
        }
    }

    public bool Wait(TimeSpan timeout, bool waitForWriters = true)
    {
        // A notification is sent on commit, so a change it reports is visible already: waitForWriters has nothing to wait for.
        var deadline = DateTime.UtcNow + (timeout < TimeSpan.Zero ? TimeSpan.Zero : timeout);
        lock (_gate)
        {
            while (true)
            {
                if (_poked)
                {
                    _poked = false;
                    return false;
                }
                if (_signalled)
                {
                    _signalled = false;
                    if (_changes != QueueChanges.None) return true;
                }
                var remaining = deadline - DateTime.UtcNow;
                if (remaining <= TimeSpan.Zero) return false;
                Monitor.Wait(_gate, remaining > TimeSpan.FromDays(1) ? TimeSpan.FromDays(1) : remaining);
            }
        }
    }

    private void Changed(QueueChanges kinds)
    {
        if ((kinds & QueueChanges.Config) != 0) _db.ConfigMayHaveChanged();
        kinds &= _interest;
        if (kinds == QueueChanges.None) return;
        lock (_gate)
        {
            _changes |= kinds;
            _signalled = true;
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>The kinds a payload names; every kind for a payload without them. Null for this driver's own.</summary>
    private QueueChanges? KindsOf(string payload)
    {
        var colon = payload.IndexOf(':');
        var token = colon < 0 ? payload : payload[..colon];
        if (token == _db.NotifyToken) return null;
        return colon >= 0 && int.TryParse(payload.AsSpan(colon + 1), System.Globalization.NumberStyles.None,
            System.Globalization.CultureInfo.InvariantCulture, out var kinds) ? (QueueChanges)kinds & QueueChanges.All : QueueChanges.All;
    }

    private async Task<NpgsqlConnection> Connect(CancellationToken cancel)
    {
        var connection = _db.CreateListenerConnection();
        try
        {
            await connection.OpenAsync(cancel).ConfigureAwait(false);
            connection.Notification += (_, e) =>
            {
                if (KindsOf(e.Payload) is { } kinds) Changed(kinds);
            };
            await using var listen = new NpgsqlCommand($"LISTEN \"{_db.Channel}\"", connection);
            await listen.ExecuteNonQueryAsync(cancel).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task ListenLoop(NpgsqlConnection? connection)
    {
        var retry = FirstRetry;
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                if (connection is null)
                {
                    connection = await Connect(_stop.Token).ConfigureAwait(false);
                    _db.ConfigWatched(true);
                    retry = FirstRetry;
                    Changed(QueueChanges.All); // whatever was notified while the connection was down is lost: have the caller look
                }
                await connection.WaitAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                break;
            }
            catch (Exception)
            {
                // Broken link, server restart, failed reconnect: start over on a new connection after a pause.
                if (connection is not null)
                {
                    _db.ConfigWatched(false);
                    await DisposeQuietly(connection).ConfigureAwait(false);
                    connection = null;
                    Changed(QueueChanges.All);
                }
                try
                {
                    await Task.Delay(retry, _stop.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
                retry = retry * 2 > LastRetry ? LastRetry : retry * 2;
            }
        }
        if (connection is not null)
        {
            _db.ConfigWatched(false);
            await DisposeQuietly(connection).ConfigureAwait(false);
        }
    }

    private static async Task DisposeQuietly(NpgsqlConnection connection)
    {
        try
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Already broken: nothing to close.
        }
    }

    public void Dispose()
    {
        if (_stop.IsCancellationRequested) return;
        _stop.Cancel();
        try
        {
            _loop.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
            // The loop ends by itself; its errors have nowhere to go.
        }
        Poke();
    }
}
