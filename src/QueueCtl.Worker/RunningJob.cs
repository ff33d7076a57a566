using QueueCtl.Jobs;

namespace QueueCtl.Worker;

/// <summary>Why the host stopped a run before it ended on its own.</summary>
internal enum StopReason { None, CancelledByUser, LeaseLost, WorkerKilled }

/// <summary>A run in progress inside this worker.</summary>
internal sealed class RunningJob(ClaimedJob claim) : IDisposable
{
    private int _reason;

    public ClaimedJob Claim { get; } = claim;
    public CancellationTokenSource Cancel { get; } = new();
    public DateTime LeaseUntil { get; set; } = claim.LeaseUntil;
    /// <summary>Completes when the run has ended and its outcome is queued for recording.</summary>
    public Task Completion { get; set; } = Task.CompletedTask;
    public StopReason Reason => (StopReason)Volatile.Read(ref _reason);

    /// <summary>Stops the run for <paramref name="reason"/>; the first reason given wins.</summary>
    public void Stop(StopReason reason)
    {
        if (Interlocked.CompareExchange(ref _reason, (int)reason, (int)StopReason.None) == (int)StopReason.None)
            Cancel.Cancel();
    }

    public void Dispose() => Cancel.Dispose();
}
