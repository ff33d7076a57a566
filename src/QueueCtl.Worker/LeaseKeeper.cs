using QueueCtl.Jobs;
using QueueCtl.Storage;

namespace QueueCtl.Worker;

/// <summary>
/// Keeps this worker's leases: renews them on each heartbeat, and when renewals fail (the database is locked, full or
/// gone) stops each run before its lease can run out, so a run never outlives the lease that lets it run.
/// </summary>
/// <remarks>
/// The check is local: a monotonic timer started before the granting transaction, and, where this worker's own clock
/// stamped the lease end (SQLite), that clock too (whichever says "stop" first wins). Clock offsets between machines
/// therefore do not matter here; clock rates do, and a second of drift per lease is far inside the margin. Each run
/// has a fence timer of its own, armed whenever its lease is granted: it fires even while the loop is stuck in a
/// storage call that has not timed out yet (a cut network link holds a call for seconds), so the fence never waits
/// for storage. The loop also fences on its own schedule (<see cref="FenceOverdue"/>).
/// </remarks>
internal sealed class LeaseKeeper(ILeaseStore leases, IQueueDriver db, IWorkerLog log, Func<TimeSpan> margin)
{
    /// <summary>Called just before a transaction that grants leases (a claim or a renewal).</summary>
    public (long AskedAt, TimeSpan Length) Asking() => (db.Clock.GetTimestamp(), db.Config.LeaseDuration);

    public void Granted(RunningJob job, DateTime until, (long AskedAt, TimeSpan Length) asked)
    {
        job.Lease = new Lease(until, asked.AskedAt, asked.Length);
        job.ArmFence(job.Lease.TimeToFence(db.Clock, margin(), db.StampsWithClock), () => Fence(job));
    }

    /// <summary>Extends the leases of the runs still going; stops those this worker no longer holds or that were cancelled.</summary>
    public void Renew(IEnumerable<RunningJob> running)
    {
        var live = running.Where(r => r.Reason == StopReason.None).ToList();
        if (live.Count == 0) return;
        var asked = Asking();
        var bySeq = live.ToDictionary(r => r.Claim.Seq);
        foreach (var renewal in leases.Renew(live.Select(r => r.Claim).ToList()))
        {
            var job = bySeq[renewal.Claim.Seq];
            if (!renewal.Kept) job.Stop(StopReason.LeaseLost);
            else if (renewal.CancelRequested) job.Stop(StopReason.CancelledByUser);
            else Granted(job, renewal.LeaseUntil, asked);
        }
    }

    /// <summary>Stops every run whose lease is within <paramref name="margin"/> of running out. Needs no storage.</summary>
    public void FenceOverdue(IEnumerable<RunningJob> running, TimeSpan margin)
    {
        foreach (var job in running)
        {
            if (job.Reason != StopReason.None || job.Lease.TimeToFence(db.Clock, margin, db.StampsWithClock) > TimeSpan.Zero) continue;
            Fence(job);
        }
    }

    private void Fence(RunningJob job)
    {
        if (job.Stop(StopReason.LeaseOverdue))
            log.Write(WorkerLogLevel.Warning,
                $"Job {job.Claim.Job.Id}: its lease (until {job.Lease.Until:yyyy-MM-ddTHH:mm:ss.fffZ}) could not be renewed; " +
                "stopped the run before the lease runs out, so it cannot overlap a run started by another worker.");
    }

    /// <summary>How long until <see cref="FenceOverdue"/> must look again; null with nothing to fence.</summary>
    public TimeSpan? NextFence(IEnumerable<RunningJob> running, TimeSpan margin)
    {
        TimeSpan? next = null;
        foreach (var job in running)
        {
            if (job.Reason != StopReason.None) continue;
            var due = job.Lease.TimeToFence(db.Clock, margin, db.StampsWithClock);
            if (next is null || due < next) next = due;
        }
        return next;
    }
}
