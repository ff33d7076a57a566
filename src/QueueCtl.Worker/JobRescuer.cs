using QueueCtl.Execution;
using QueueCtl.Storage;

namespace QueueCtl.Worker;

/// <summary>
/// Puts back jobs whose worker is gone, apart from the claim loop (River's job rescuer is the model). A worker on this
/// machine whose process has ended gives its jobs up at once; any other worker's jobs come back when their lease has
/// expired. Before a job is put back, whatever may still run it on this machine is killed, so a job never runs twice at
/// once here; on another machine, the worker's own self-fencing (<see cref="LeaseKeeper"/>) has stopped it.
/// </summary>
internal sealed class JobRescuer(IQueueDriver db, ILeaseStore leases, IWorkerRegistry registry, IWorkerLog log)
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
            // An id no release accepts today (stored by an older one) names no file we may trust: its leases expire instead.
            if (!WorkerIds.IsValid(id)) continue;
            // Kill its orphaned job processes first: only then may the jobs run again.
            var orphans = KillOrphans(WorkerFiles.RunningPath(db.LocalPath, id));
            if (orphans > 0) log.Write(WorkerLogLevel.Warning, $"Killed {orphans} orphaned job process(es) of worker {id}.");
            var expired = leases.ExpireLeasesOf(id);
            registry.SetState(id, QueueWorkerState.Lost);
            log.Write(WorkerLogLevel.Warning, $"Worker {id} (pid {pid}) is gone; recovering its {expired} job(s).");
        }
        registry.MarkSilentWorkersLost();
        var recovered = leases.RecoverExpired(held, StopRunsOnThisHost);
        foreach (var id in recovered)
            log.Write(WorkerLogLevel.Warning, $"Job {id} was recovered from a lost worker: the lost run counts as a failed attempt (retried if retries are left).");
        return recovered.Count;
    }

    /// <summary>
    /// Runs inside the recovery transaction, which holds the write lock: nobody can claim the jobs until it commits.
    /// A worker whose process still exists here, has let its leases expire and has not sent a heartbeat for a lease is
    /// frozen (SIGSTOP, a debugger, a suspended machine): it cannot fence itself, so its job processes are killed for it.
    /// A live worker that still sends heartbeats stops or records its own runs (it fences them before their lease ends),
    /// so its jobs are left to it. Returns the workers whose jobs must not be recovered now.
    /// </summary>
    private IReadOnlyCollection<string> StopRunsOnThisHost(IReadOnlyList<string> owners)
    {
        var leave = new List<string>();
        var others = owners.Where(o => !IsSelf(o)).ToList();
        if (others.Count == 0) return leave;
        foreach (var (id, pid, startedAt, heartbeatAge) in registry.OnThisHost(others))
        {
            if (!WorkerIds.IsValid(id)) continue;
            var path = WorkerFiles.RunningPath(db.LocalPath, id);
            if (!ProcessTree.IsAlive(pid, startedAt))
            {
                var orphans = KillOrphans(path);
                if (orphans > 0) log.Write(WorkerLogLevel.Warning, $"Killed {orphans} orphaned job process(es) of worker {id}.");
                continue;
            }
            if (heartbeatAge <= db.Config.LeaseDuration)
            {
                leave.Add(id);
                continue;
            }
            var killed = KillListedIn(path);
            log.Write(WorkerLogLevel.Warning,
                $"Worker {id} (pid {pid}) is still there but silent for {heartbeatAge.TotalSeconds:0.0} s (frozen?); killed its {killed} job process(es) before its jobs run again.");
        }
        return leave;
    }

    /// <summary>Kills the processes a dead worker's file lists (and deletes the file); returns once they are gone.</summary>
    private int KillOrphans(string path)
    {
        var listed = Listed(path);
        var killed = RunningProcesses.KillOrphans(path);
        WaitGone(listed);
        return killed;
    }

    /// <summary>Kills the processes a live worker lists, from a copy: the worker keeps appending to its own file.</summary>
    private int KillListedIn(string path)
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
        return KillOrphans(copy);
    }

    /// <summary>
    /// A signal is delivered asynchronously: the job may run a little longer after kill() returned. Waits (briefly: a
    /// SIGKILLed process is gone within milliseconds unless it is stuck in the kernel) so the next run cannot overlap.
    /// </summary>
    private void WaitGone(IReadOnlyList<(int Pid, long Started)> processes)
    {
        var deadline = DateTime.UtcNow + KillWait;
        foreach (var (pid, started) in processes)
        {
            while (ProcessTree.IsAlive(pid, started))
            {
                if (DateTime.UtcNow > deadline)
                {
                    log.Write(WorkerLogLevel.Warning, $"Job process {pid} is still there {KillWait.TotalSeconds:0} s after it was killed.");
                    return;
                }
                Thread.Sleep(10);
            }
        }
    }

    private static readonly TimeSpan KillWait = TimeSpan.FromSeconds(2);

    /// <summary>The processes a worker's file lists as running (see <see cref="RunningProcesses"/>).</summary>
    private static List<(int Pid, long Started)> Listed(string path) =>
        RunningProcesses.Read(path).Select(r => (r.Pid, r.Started)).ToList();

    private bool IsSelf(string id) => string.Equals(id, WorkerId, StringComparison.OrdinalIgnoreCase);
}
