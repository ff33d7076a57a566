namespace QueueCtl.Storage.Sqlite;

/// <summary>
/// Waits for other processes' commits to a queue. A file-system event on the write-ahead log says that someone wrote;
/// PRAGMA data_version says whether another connection's commit is visible yet. The event arrives while the writer
/// still holds the write lock (before its commit is visible), so an event waits for the write lock to be free
/// (<see cref="SqliteDriver.WaitForWriters"/>) before it looks. Idle, this costs nothing: no events, no reads.
/// </summary>
internal sealed class SqliteListener : IQueueListener
{
    private readonly SqliteDriver _db;
    private readonly FileChangeSignal _signal;
    private long _seenVersion;
    private int _poked;

    public SqliteListener(SqliteDriver db)
    {
        _db = db;
        _signal = new FileChangeSignal(db.Path);
        _seenVersion = db.DataVersion();
    }

    /// <summary>False when the file system gives no notifications and only the caller's timeout applies.</summary>
    public bool IsWatching => _signal.IsWatching;

    /// <summary>Wakes <see cref="Wait"/> for a reason inside this process. Thread-safe.</summary>
    public void Poke()
    {
        Volatile.Write(ref _poked, 1);
        _signal.Set();
    }

    /// <summary>Every kind, once per change committed by another connection since the last call: a commit says not what changed.</summary>
    public QueueChanges TakeChanges()
    {
        var version = _db.DataVersion();
        if (version == _seenVersion) return QueueChanges.None;
        _seenVersion = version;
        return QueueChanges.All;
    }

    /// <summary>
    /// Blocks until another connection's commit is visible, <see cref="Poke"/> is called, or <paramref name="timeout"/>
    /// passes. Returns true for a visible change. Does not consume the change: <see cref="TakeChanges"/> still reports it.
    /// With <paramref name="waitForWriters"/> false, an event whose commit is not visible yet is left for a later look
    /// instead of waiting on the write lock: for a caller that is busy anyway and must not slow the writers down.
    /// </summary>
    public bool Wait(TimeSpan timeout, bool waitForWriters = true)
    {
        var deadline = DateTime.UtcNow + (timeout < TimeSpan.Zero ? TimeSpan.Zero : timeout);
        while (true)
        {
            if (Interlocked.Exchange(ref _poked, 0) == 1) return false;
            var remaining = deadline - DateTime.UtcNow;
            if (remaining <= TimeSpan.Zero) return false;
            var signalled = _signal.Wait(remaining);
            if (Volatile.Read(ref _poked) == 1) continue;
            // Someone is writing, or we were: once the write lock is free, any commit behind the event is visible. Wait
            // for it even when an earlier change is visible already: returning on that one alone would spend this
            // event's wake-up on a look that misses the commit still in progress, and its commit raises no other event.
            if (signalled && waitForWriters) _db.WaitForWriters();
            if (_db.DataVersion() != _seenVersion) return true;
        }
    }

    public void Dispose() => _signal.Dispose();
}
