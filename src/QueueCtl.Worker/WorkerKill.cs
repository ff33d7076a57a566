using System.Diagnostics;
using QueueCtl.Execution;
using QueueCtl.Storage;

namespace QueueCtl.Worker;

/// <summary>What <see cref="WorkerKill.Kill"/> did.</summary>
public enum WorkerKillResult
{
    /// <summary>The worker runs on another machine: it cannot be killed from here.</summary>
    OnAnotherMachine,

    /// <summary>Its supervisor, its process and its job processes are gone, and its jobs were put back.</summary>
    Killed,
}

/// <summary>
/// Kills a worker of this machine at once, for the user who cannot wait for a graceful stop (a frozen worker, a job
/// that ignores signals): its supervisor first (so nothing restarts it), then its process, stopped or not, then its
/// job processes and whatever they started; then its jobs are put back, each lost run counting as a failed attempt.
/// Jobs come back only after whatever ran them is gone, so no job runs twice at once.
/// </summary>
public static class WorkerKill
{
    public static (WorkerKillResult Result, IReadOnlyList<string> Recovered) Kill(IQueueDriver db, string workerId)
    {
        var local = db.Workers.OnThisHost(new[] { workerId }).FirstOrDefault();
        if (local.Id is null) return (WorkerKillResult.OnAnotherMachine, Array.Empty<string>());
        if (SupervisorFile.LivePid(db.LocalPath, workerId) is { } supervisor) KillAndWait(supervisor);
        if (ProcessTree.IsAlive(local.Pid, local.ProcessStartedAt)) KillAndWait(local.Pid);
        SupervisorFile.Delete(db.LocalPath, workerId);
        var recovered = RecoverJobsOf(db, workerId);
        db.Workers.SetState(workerId, QueueWorkerState.Stopped);
        return (WorkerKillResult.Killed, recovered);
    }

    /// <summary>
    /// Puts back the jobs of a worker whose process is known to be gone: kills the job processes it left, expires its
    /// leases and recovers them. Shared by <see cref="Kill"/> and a supervised worker's restart under the same id.
    /// </summary>
    public static IReadOnlyList<string> RecoverJobsOf(IQueueDriver db, string workerId, IWorkerLog? log = null)
    {
        var killed = RunningProcesses.KillOrphans(WorkerFiles.RunningPath(db.LocalPath, workerId));
        if (killed > 0) log?.Write(WorkerLogLevel.Warning, $"Killed {killed} job process(es) left by worker {workerId}'s previous process.");
        var leases = db.Leases(workerId);
        if (leases.ExpireLeasesOf(workerId) == 0) return Array.Empty<string>();
        return leases.RecoverExpired(stopOwners: owners =>
            owners.Where(o => !string.Equals(o, workerId, StringComparison.OrdinalIgnoreCase)).ToList());
    }

    /// <summary>Whether the worker's process still exists on this machine, whatever its recorded state.</summary>
    public static bool IsAliveHere(IQueueDriver db, string workerId) =>
        db.Workers.OnThisHost(new[] { workerId }).FirstOrDefault() is { Id: not null } local && ProcessTree.IsAlive(local.Pid, local.ProcessStartedAt);

    private static void KillAndWait(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            ProcessTree.Kill(process);
            process.WaitForExit(10_000);
        }
        catch (ArgumentException)
        {
            // Already gone.
        }
    }
}
