using QueueCtl.Execution;
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
        var killed = RunningProcesses.KillOrphans(WorkerFiles.RunningPath(db.LocalPath, workerId));
        if (killed > 0) log.Write(WorkerLogLevel.Warning, $"Killed {killed} job process(es) left by this worker's previous process.");
        var leases = db.Leases(workerId);
        if (leases.ExpireLeasesOf(workerId) == 0) return;
        var recovered = leases.RecoverExpired(stopOwners: owners =>
            owners.Where(o => !string.Equals(o, workerId, StringComparison.OrdinalIgnoreCase)).ToList());
        foreach (var id in recovered)
            log.Write(WorkerLogLevel.Warning, $"Job {id} was recovered from this worker's previous process: the lost run counts as a failed attempt (retried if retries are left).");
    }
}
