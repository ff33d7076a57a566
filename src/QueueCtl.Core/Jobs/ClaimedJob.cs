namespace QueueCtl.Jobs;

/// <summary>
/// A job a worker holds. (Seq, Run, WorkerId) is the fencing token: only the holder of the current run may renew or
/// finish it, so a worker whose job was recovered elsewhere can no longer change it.
/// </summary>
public sealed record ClaimedJob(long Seq, QueueJob Job, DateTime LeaseUntil)
{
    public int Run => Job.Runs;
    public string WorkerId => Job.WorkerId!;
}

/// <summary>A claimed job's run that has ended, waiting to be recorded.</summary>
public sealed record FinishedRun(ClaimedJob Claim, RunOutcome Outcome);

/// <summary>What one finish-and-claim transaction did.</summary>
/// <remarks>
/// <see cref="NextDueIn"/> is how long from the transaction's time until the next job falls due (zero when one is due
/// now, null when none waits): a span, not an instant, because the store's clock may be a server's that disagrees with
/// the worker's.
/// </remarks>
public sealed record ClaimCycle(IReadOnlyList<ClaimedJob> Claimed, IReadOnlyList<bool> FinishAccepted, TimeSpan? NextDueIn);

/// <summary>One running job's lease after a renewal: kept (with its new expiry) or lost, and whether a cancel was asked.</summary>
public sealed record LeaseRenewal(ClaimedJob Claim, bool Kept, DateTime LeaseUntil, bool CancelRequested);
