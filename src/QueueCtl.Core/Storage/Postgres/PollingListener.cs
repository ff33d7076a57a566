namespace QueueCtl.Storage.Postgres;

/// <summary>
/// The listener of poll-only mode (listen=false, for poolers in transaction mode that cannot hold a LISTEN): waits last
/// until their timeout or a <see cref="Poke"/>, and after each wait that ran out the queue counts as changed, so the
/// caller looks at it once per poll.
/// </summary>
internal sealed class PollingListener : IQueueListener
{
    private readonly object _gate = new();
    private bool _poked;
    private bool _maybeChanged;

    public bool IsWatching => false;

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
            var changed = _maybeChanged;
            _maybeChanged = false;
            return changed ? QueueChanges.All : QueueChanges.None;
        }
    }

    public bool Wait(TimeSpan timeout, bool waitForWriters = true)
    {
        var deadline = DateTime.UtcNow + (timeout < TimeSpan.Zero ? TimeSpan.Zero : timeout);
        lock (_gate)
        {
            while (!_poked)
            {
                var remaining = deadline - DateTime.UtcNow;
                if (remaining <= TimeSpan.Zero)
                {
                    _maybeChanged = true;
                    return false;
                }
                Monitor.Wait(_gate, remaining > TimeSpan.FromDays(1) ? TimeSpan.FromDays(1) : remaining);
            }
            _poked = false;
            return false;
        }
    }

    public void Dispose()
    {
    }
}
