using QueueCtl.Storage;

namespace QueueCtl.Worker;

/// <summary>
/// A detached worker restarted by its supervisor keeps its id. Before it signs on, what its previous process left is
/// cleaned up: that process is gone (the supervisor waited for it), so its job processes are killed and its jobs put
/// back at once, each lost run counting as a failed attempt, as recovery by any other worker would.
/// </summary>
public static class WorkerRestart
{
    public static void Reclaim(IQueueDriver db, string workerId, IWorkerLog log)
    {
        foreach (var id in WorkerKill.RecoverJobsOf(db, workerId, log))
            log.Write(WorkerLogLevel.Warning, $"Job {id} was recovered from this worker's previous process: the lost run counts as a failed attempt (retried if retries are left).");
    }
}
