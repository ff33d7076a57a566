using QueueCtl.Jobs;

namespace QueueCtl.Worker;

/// <summary>Why the host stopped a run before it ended on its own.</summary>
internal enum StopReason
{
    None,
    CancelledByUser,
    /// <summary>The job was taken from this worker: the run's result no longer counts.</summary>
    LeaseLost,
    /// <summary>The lease could not be renewed in time: the worker stopped the run before the lease could run out.</summary>
    LeaseOverdue,
    WorkerKilled,
}

/// <summary>A run in progress inside this worker.</summary>
internal sealed class RunningJob(ClaimedJob claim) : IDisposable
{
    private int _reason;

    public ClaimedJob Claim { get; } = claim;
    public CancellationTokenSource Cancel { get; } = new();
    /// <summary>The lease as last granted: its end on this worker's clock (which stamped it), and when it was asked for.</summary>
    public Lease Lease { get; set; } = new(claim.LeaseUntil, 0, TimeSpan.MaxValue);
    /// <summary>Completes when the run has ended and its outcome is queued for recording.</summary>
    public Task Completion { get; set; } = Task.CompletedTask;
    public StopReason Reason => (StopReason)Volatile.Read(ref _reason);

    /// <summary>Stops the run for <paramref name="reason"/>; the first reason given wins.</summary>
    public bool Stop(StopReason reason)
    {
        if (Interlocked.CompareExchange(ref _reason, (int)reason, (int)StopReason.None) != (int)StopReason.None) return false;
        Cancel.Cancel();
        return true;
    }

    /// <summary>
    /// (Re)arms the run's fence: <paramref name="fence"/> runs on a timer thread after <paramref name="due"/> unless the
    /// fence is armed again first (a renewal) or the run is disposed.
    /// </summary>
    public void ArmFence(TimeSpan due, Action fence)
    {
        lock (Cancel)
        {
            if (_disposed) return;
            var delay = due <= TimeSpan.Zero ? TimeSpan.Zero : due > MaxTimer ? MaxTimer : due;
            if (_fence is null) _fence = new Timer(_ => fence(), null, delay, Timeout.InfiniteTimeSpan);
            else _fence.Change(delay, Timeout.InfiniteTimeSpan);
        }
    }

    // A lease longer than this is re-armed by its renewals long before the timer would fire.
    private static readonly TimeSpan MaxTimer = TimeSpan.FromDays(1);
    private Timer? _fence;
    private bool _disposed;

    public void Dispose()
    {
        lock (Cancel)
        {
            _disposed = true;
            _fence?.Dispose();
        }
        Cancel.Dispose();
    }
}

/// <summary>
/// A lease this worker holds: <see cref="Until"/> as stamped into the job (inside the transaction that granted it, by
/// the store's clock), and the monotonic timestamp taken just before that transaction began with the
/// <see cref="Length"/> it asked for. The second always holds: the lease cannot end before that much time has passed.
/// The first is compared with this process's wall clock only when that clock stamped it (<paramref name="wallClock"/>):
/// then a wall clock stepped forward ends the lease for every worker at once, this one included. A server's clock is
/// never compared with this machine's: they may disagree by minutes.
/// </summary>
internal readonly record struct Lease(DateTime Until, long AskedAt, TimeSpan Length)
{
    /// <summary>How long until this worker must have stopped the run, keeping <paramref name="margin"/> in hand.</summary>
    public TimeSpan TimeToFence(TimeProvider clock, TimeSpan margin, bool wallClock)
    {
        var byWallClock = wallClock ? Until - margin - clock.GetUtcNow().UtcDateTime : TimeSpan.MaxValue;
        if (Length == TimeSpan.MaxValue) return byWallClock;
        var byElapsed = Length - margin - clock.GetElapsedTime(AskedAt);
        return byWallClock < byElapsed ? byWallClock : byElapsed;
    }
}
