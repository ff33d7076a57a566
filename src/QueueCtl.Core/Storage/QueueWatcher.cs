namespace QueueCtl.Storage;

/// <summary>
/// Waits for other processes' commits to a queue. A file-system event on the write-ahead log says that someone wrote;
/// PRAGMA data_version says whether a commit is visible yet. The event can arrive while the writer is still syncing,
/// before its commit is visible, so an event with no visible change is rechecked a few times at growing intervals
/// (1 ms to 128 ms). Idle, this costs nothing: no events, no reads.
/// </summary>
public sealed class QueueWatcher : IDisposable
{
    private static readonly TimeSpan FirstRecheck = TimeSpan.FromMilliseconds(1);
    private static readonly TimeSpan LastRecheck = TimeSpan.FromMilliseconds(128);

    private readonly QueueDatabase _db;
    private readonly QueueChangeSignal _signal;
    private long _seenVersion;
    private int _poked;

    public QueueWatcher(QueueDatabase db)
    {
        _db = db;
        _signal = new QueueChangeSignal(db.Path);
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

    /// <summary>True once per change committed by another connection since the last call.</summary>
    public bool HasChanged()
    {
        var version = _db.DataVersion();
        if (version == _seenVersion) return false;
        _seenVersion = version;
        return true;
    }

    /// <summary>
    /// Blocks until another connection's commit is visible, <see cref="Poke"/> is called, or <paramref name="timeout"/>
    /// passes. Returns true for a visible change. Does not consume the change: <see cref="HasChanged"/> still reports it.
    /// </summary>
    public bool Wait(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + (timeout < TimeSpan.Zero ? TimeSpan.Zero : timeout);
        var recheck = TimeSpan.Zero;
        while (true)
        {
            if (Interlocked.Exchange(ref _poked, 0) == 1) return false;
            var remaining = deadline - DateTime.UtcNow;
            if (remaining <= TimeSpan.Zero) return false;
            var signalled = _signal.Wait(recheck > TimeSpan.Zero && recheck < remaining ? recheck : remaining);
            if (Volatile.Read(ref _poked) == 1) continue;
            if (_db.DataVersion() != _seenVersion) return true;
            if (signalled) recheck = FirstRecheck;
            else if (recheck > TimeSpan.Zero) recheck = recheck * 2 > LastRecheck ? TimeSpan.Zero : recheck * 2;
        }
    }

    public void Dispose() => _signal.Dispose();
}
