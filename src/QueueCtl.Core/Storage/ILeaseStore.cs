using QueueCtl.Jobs;

namespace QueueCtl.Storage;

/// <summary>
/// What one worker does to jobs: claim, renew leases, finish runs, and recover jobs whose worker has gone. Every
/// change is fenced on the expected state and run ((seq, run, worker) and state = Processing), so two workers can
/// never both own or finish a job, whatever the engine's locking.
/// </summary>
public interface ILeaseStore
{
    string WorkerId { get; }

    /// <summary>
    /// One transaction: records the finished runs, then claims up to <paramref name="count"/> due jobs. When fewer
    /// jobs were due than asked for, reports when the next one is.
    /// </summary>
    ClaimCycle FinishAndClaim(IReadOnlyList<FinishedRun> finished, int count);

    /// <summary>Extends the leases of running jobs; reports the ones this worker no longer holds and cancel requests.</summary>
    IReadOnlyList<LeaseRenewal> Renew(IReadOnlyList<ClaimedJob> running);

    /// <summary>Seqs of this worker's running jobs that a user asked to cancel.</summary>
    IReadOnlyList<long> CancelRequests();

    /// <summary>
    /// Puts back every Processing job whose lease has expired: the lost run counts as a failed attempt (normal retry
    /// and DLQ rules apply), or the job becomes Cancelled when a cancel was pending. Returns the ids recovered.
    /// <paramref name="held"/> names this worker's own jobs it still runs or holds a finished result for: their lease
    /// may have run out while the store was unavailable, and only another worker's recovery may take them.
    /// <paramref name="stopOwners"/> is called with the workers whose jobs are about to be put back, inside the
    /// transaction that puts them back: until it commits nobody can claim them, so whatever still runs them can be
    /// stopped first. It returns the workers whose jobs must be left as they are for now.
    /// </summary>
    IReadOnlyList<string> RecoverExpired(IReadOnlyCollection<long>? held = null,
        Func<IReadOnlyList<string>, IReadOnlyCollection<string>>? stopOwners = null);

    /// <summary>Expires the leases held by a worker known to be dead, so <see cref="RecoverExpired"/> takes them at once.</summary>
    int ExpireLeasesOf(string deadWorkerId);
}

public static class LeaseStoreExtensions
{
    public static IReadOnlyList<ClaimedJob> Claim(this ILeaseStore store, int count) =>
        store.FinishAndClaim(Array.Empty<FinishedRun>(), count).Claimed;

    /// <summary>Records one finished run. False when the run no longer belongs to this worker (its lease was lost).</summary>
    public static bool FinishRun(this ILeaseStore store, FinishedRun run) =>
        store.FinishAndClaim(new[] { run }, 0).FinishAccepted[0];
}
