namespace QueueCtl.Storage.Sqlite;

/// <summary>
/// Wakes a waiter when any process commits to the queue, at no cost while nothing happens: every commit appends to
/// the write-ahead log, and the file system reports that change (inotify, FSEvents, ReadDirectoryChangesW). Where
/// notifications are unavailable, waits simply time out, so callers always pass their safety-net poll interval.
/// </summary>
public sealed class FileChangeSignal : IDisposable
{
    // No spinning before blocking: the waiter is the worker loop, which waits between almost every job, and on a small
    // machine a spinning waiter takes the CPU from the job processes it is waiting for.
    private readonly ManualResetEventSlim _signal = new(false, spinCount: 0);
    private int _pending;
    private readonly FileSystemWatcher? _watcher;

    public FileChangeSignal(string databasePath)
    {
        var full = Path.GetFullPath(databasePath);
        try
        {
            _watcher = new FileSystemWatcher(Path.GetDirectoryName(full)!, Path.GetFileName(full) + "-wal")
            {
                NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.FileName,
                IncludeSubdirectories = false,
            };
            _watcher.Changed += (_, _) => Set();
            _watcher.Created += (_, _) => Set();
            _watcher.Error += (_, _) => Set();
            _watcher.EnableRaisingEvents = true;
        }
        catch (Exception ex) when (ex is IOException or ArgumentException or PlatformNotSupportedException or UnauthorizedAccessException)
        {
            // Out of inotify instances, or an unusual file system: fall back to polling.
            _watcher?.Dispose();
            _watcher = null;
        }
    }

    /// <summary>False when change notifications are unavailable and only the poll interval applies.</summary>
    public bool IsWatching => _watcher is not null;

    /// <summary>Wakes the waiter (also used by in-process events such as a finished job).</summary>
    public void Set()
    {
        // A busy queue raises thousands of events a second: only the first since the last wait sets the event.
        if (Interlocked.Exchange(ref _pending, 1) == 1) return;
        try { _signal.Set(); }
        catch (ObjectDisposedException) { /* shutting down */ }
    }

    /// <summary>Blocks until a change or the timeout. True when a change was signalled.</summary>
    public bool Wait(TimeSpan timeout)
    {
        try
        {
            var signalled = _signal.Wait(timeout < TimeSpan.Zero ? TimeSpan.Zero : timeout);
            if (signalled)
            {
                // A Set from here to the write below is dropped; the caller looks at the queue after this returns,
                // so what that Set announced is seen anyway.
                _signal.Reset();
                Volatile.Write(ref _pending, 0);
            }
            return signalled;
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
    }

    public void Dispose()
    {
        _watcher?.Dispose();
        _signal.Dispose();
    }
}
