using QueueCtl.Storage;

namespace QueueCtl.Worker;

/// <summary>
/// Whether the worker's storage calls go through. A failed call (a write lock held past the worker's short busy
/// timeout, a full disk, an I/O error) starts an outage: the worker keeps its runs and their results and retries with
/// a doubling delay, capped so that renewals are retried at least once per heartbeat. Each outage is logged once, when
/// it starts (a lock only once it has lasted a heartbeat, since short waits on other writers are normal) and once
/// when it ends. Damage to the store (SQLITE_CORRUPT, a PostgreSQL data_corrupted error) is logged at Error and stops claiming for good.
/// </summary>
internal sealed class StorageOutage(string workerId, IQueueDriver db, IWorkerLog log)
{
    private static readonly TimeSpan FirstRetry = TimeSpan.FromMilliseconds(50);
    private DateTime? _since;
    private TimeSpan _delay;
    private bool _logged;

    public bool IsDown => _since is not null;

    /// <summary>Set once the file was found damaged: the worker claims nothing more.</summary>
    public bool IsCorrupt { get; private set; }

    /// <summary>When the next attempt is due; null while storage works.</summary>
    public DateTime? RetryAt { get; private set; }

    /// <summary>When the last outage ended, and how long it lasted.</summary>
    public DateTime? EndedAt { get; private set; }

    public TimeSpan LastLength { get; private set; }

    public bool RetryDue(DateTime now) => RetryAt is not { } at || now >= at;

    /// <summary>True within <paramref name="window"/> after an outage of at least <paramref name="length"/> ended.</summary>
    public bool EndedWithin(DateTime now, TimeSpan window, TimeSpan length) =>
        EndedAt is { } ended && now - ended < window && LastLength >= length;

    public void Failed(QueueException error, DateTime now, TimeSpan maxDelay, int held, int running)
    {
        if (db.IsCorruption(error) && !IsCorrupt)
        {
            IsCorrupt = true;
            log.Write(WorkerLogLevel.Error,
                $"Worker {workerId}: the queue database '{db.Address}' is damaged: {error.InnerException?.Message ?? error.Message}. It claims no more " +
                $"jobs; it lets its {running} running job(s) finish and keeps trying to record their results ({held} held now). " +
                "Test-Queue checks the file.");
        }
        if (_since is null)
        {
            _since = now;
            _delay = FirstRetry;
            _logged = false;
        }
        else
        {
            _delay = _delay * 2 < maxDelay ? _delay * 2 : maxDelay;
        }
        RetryAt = now + _delay;
        if (!_logged && (!db.IsLockTimeout(error) || now - _since >= maxDelay))
        {
            _logged = true;
            log.Write(WorkerLogLevel.Warning,
                $"Worker {workerId}: storage unavailable since {_since:yyyy-MM-ddTHH:mm:ss.fffZ}: {error.Message}; holding {held} finished result(s), " +
                $"{running} job(s) running; retrying.");
        }
    }

    public void Succeeded(DateTime now, int recorded)
    {
        if (_since is not { } since) return;
        if (_logged)
            log.Write(WorkerLogLevel.Information,
                $"Worker {workerId}: storage available again after {(now - since).TotalSeconds:0.0} s; recorded {recorded} held result(s).");
        _since = null;
        RetryAt = null;
        EndedAt = now;
        LastLength = now - since;
    }
}
