using QueueCtl.Execution;
using QueueCtl.Storage;

namespace QueueCtl.Worker;

/// <summary>
/// Puts back jobs whose worker is gone, apart from the claim loop (River's job rescuer is the model). A worker on this
/// machine whose process has ended gives its jobs up at once; any other worker's jobs come back when their lease has
/// expired. Before a job is put back, whatever may still run it on this machine is killed, so a job never runs twice at
/// once here; on another machine, the worker's own self-fencing (<see cref="LeaseKeeper"/>) has stopped it.
/// </summary>
internal sealed class JobRescuer(QueueDatabase db, LeaseStore leases, WorkerRegistry registry, IWorkerLog log)
{
    private string WorkerId => leases.WorkerId;

    /// <summary>
    /// Recovers what can be recovered; returns how many jobs were put back. <paramref name="held"/> are this worker's
    /// own runs and unrecorded results, which only another worker may take from it.
    /// </summary>
    public int Rescue(IReadOnlyCollection<long> held)
    {
        foreach (var (id, pid, startedAt) in registry.LiveOnThisHost())
        {
            if (IsSelf(id) || ProcessTree.IsAlive(pid, startedAt)) continue;
            // Kill its orphaned job processes first: only then may the jobs run again.
            var orphans = RunningProcesses.KillOrphans(WorkerFiles.RunningPath(db.Path, id));
            if (orphans > 0) log.Write(WorkerLogLevel.Warning, $"Killed {orphans} orphaned job process(es) of worker {id}.");
            var expired = leases.ExpireLeasesOf(id);
            registry.SetState(id, QueueWorkerState.Lost);
            log.Write(WorkerLogLevel.Warning, $"Worker {id} (pid {pid}) is gone; recovering its {expired} job(s).");
        }
        registry.MarkSilentWorkersLost();
        var recovered = leases.RecoverExpired(held, StopRunsOnThisHost);
        foreach (var id in recovered)
            log.Write(WorkerLogLevel.Warning, $"Job {id} was recovered from a lost worker and will run again.");
        return recovered.Count;
    }

    /// <summary>
    /// Runs inside the recovery transaction, which holds the write lock: nobody can claim the jobs until it commits.
    /// A worker whose process still exists here but let its leases expire is frozen (SIGSTOP, a debugger, a machine
    /// that was suspended): it cannot fence itself, so its job processes are killed for it.
    /// </summary>
    private void StopRunsOnThisHost(IReadOnlyList<string> owners)
    {
        var others = owners.Where(o => !IsSelf(o)).ToList();
        if (others.Count == 0) return;
        foreach (var (id, pid, startedAt) in registry.OnThisHost(others))
        {
            var path = WorkerFiles.RunningPath(db.Path, id);
            if (!ProcessTree.IsAlive(pid, startedAt))
            {
                var orphans = RunningProcesses.KillOrphans(path);
                if (orphans > 0) log.Write(WorkerLogLevel.Warning, $"Killed {orphans} orphaned job process(es) of worker {id}.");
                continue;
            }
            var killed = KillListedIn(path);
            log.Write(WorkerLogLevel.Warning,
                $"Worker {id} (pid {pid}) is still running but let its leases expire (frozen?); killed its {killed} job process(es) before its jobs run again.");
        }
    }

    /// <summary>Kills the processes a live worker lists, from a copy: the worker keeps appending to its own file.</summary>
    private static int KillListedIn(string path)
    {
        if (!File.Exists(path)) return 0;
        var copy = path + "." + Guid.NewGuid().ToString("n")[..8] + ".rescue";
        try
        {
            File.Copy(path, copy);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
        return RunningProcesses.KillOrphans(copy);
    }

    private bool IsSelf(string id) => string.Equals(id, WorkerId, StringComparison.OrdinalIgnoreCase);
}
