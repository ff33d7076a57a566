using QueueCtl.Jobs;

namespace QueueCtl.Storage;

/// <summary>What users do to jobs: enqueue, find, remove, retry from the DLQ, cancel, and count.</summary>
public interface IJobStore
{
    /// <summary>
    /// Writes a batch in one transaction. A spec that is invalid or whose id exists is refused on its own (its result
    /// carries the error); the rest are stored. Nothing is half-written: a failure of the store rolls back the batch.
    /// </summary>
    IReadOnlyList<EnqueueResult> Enqueue(IReadOnlyList<JobSpec> specs);

    /// <summary>The job with this exact id (ids are case-insensitive), or null.</summary>
    QueueJob? Find(string id);

    /// <summary>The jobs with these exact ids that exist, in no particular order.</summary>
    IReadOnlyList<QueueJob> FindMany(IReadOnlyCollection<string> ids);

    /// <summary>
    /// Jobs matching any of <paramref name="ids"/> (wildcards allowed; all jobs when empty) and any of
    /// <paramref name="states"/> (all when empty) in any of <paramref name="queues"/> (all when null), with any of
    /// <paramref name="tags"/> (case-insensitive; all when null), oldest first, fetched a page at a time.
    /// </summary>
    IEnumerable<QueueJob> List(IReadOnlyList<WildcardFilter>? ids = null, IReadOnlyList<QueueJobState>? states = null,
        int? first = null, int pageSize = 1000, IReadOnlyList<string>? queues = null, IReadOnlyList<string>? tags = null);

    /// <summary>
    /// Deletes a job and its output. A Processing job is refused (InvalidJobState) unless <paramref name="force"/>.
    /// </summary>
    QueueJob Remove(string id, bool force = false);

    /// <summary>Moves a Dead job back to Pending with its attempts reset; its error history is kept.</summary>
    QueueJob RetryDead(string id);

    /// <summary>
    /// Cancels a job: a Pending or Failed job becomes Cancelled at once; a Processing job is flagged, and its worker
    /// kills the run and records it as Cancelled. Final jobs are refused.
    /// </summary>
    QueueJob Cancel(string id);

    /// <summary>Counts per state, live workers, and the age of the oldest pending job; cheap at any queue size.</summary>
    QueueStatus Status();

    /// <summary>
    /// The queues that hold jobs waiting to run (Pending or Failed), in name order: one index probe per queue
    /// however many jobs each holds.
    /// </summary>
    IReadOnlyList<string> WaitingQueues();

    /// <summary>
    /// The distinct tags (case-insensitive; the newest job's spelling) of the newest <paramref name="jobs"/> jobs, in
    /// name order.
    /// </summary>
    IReadOnlyList<string> RecentTags(int jobs);

    /// <summary>True while any job is Pending, Failed (awaiting a retry) or Processing in any of <paramref name="queues"/> (all when null).</summary>
    bool HasUnfinishedJobs(IReadOnlyList<string>? queues = null);
}

public static class JobStoreExtensions
{
    public static QueueJob Enqueue(this IJobStore store, JobSpec spec)
    {
        var result = store.Enqueue(new[] { spec })[0];
        return result.Job ?? throw result.Error!;
    }

    public static QueueJob Get(this IJobStore store, string id) => store.Find(id) ?? throw NotFound(id);

    public static QueueException NotFound(string id) =>
        new(QueueErrorCode.JobNotFound, $"No job with id '{id}' exists in the queue.");
}
