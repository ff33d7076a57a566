using System.Collections.Concurrent;
using System.Diagnostics;
using QueueCtl.Execution;
using QueueCtl.Jobs;
using QueueCtl.Storage;

namespace QueueCtl.Worker;

/// <summary>
/// The claim-run-finish loop of one worker. A single loop owns the database connection's write path: finished runs are
/// recorded in the same transaction that claims the next jobs; runs execute concurrently up to the concurrency limit.
/// The loop sleeps on <see cref="QueueChangeSignal"/> (woken by any commit to the queue) so an idle worker costs
/// nothing and picks up new work at once. A heartbeat renews leases, notices stop and cancel requests, and recovers
/// jobs of workers that died.
/// </summary>
public sealed class WorkerHost
{
    private static readonly TimeSpan ControlCheckInterval = TimeSpan.FromMilliseconds(50);

    private readonly QueueDatabase _db;
    private readonly WorkerOptions _options;
    private readonly JobRunners _runners;
    private readonly IWorkerLog _log;
    private readonly LeaseStore _leases;
    private readonly WorkerRegistry _registry;
    private readonly ConcurrentQueue<(RunningJob Job, RunOutcome Outcome)> _ended = new();
    private readonly Dictionary<long, RunningJob> _running = new();
    private readonly RunningProcesses _processes;
    private long _done;
    private long _failed;

    public WorkerHost(QueueDatabase db, WorkerOptions options, JobRunners runners, IWorkerLog log)
    {
        if (options.Concurrency < 1) throw new ArgumentOutOfRangeException(nameof(options), "Concurrency must be at least 1.");
        _db = db;
        _options = options;
        _runners = runners;
        _log = log;
        _leases = new LeaseStore(db, options.WorkerId);
        _registry = new WorkerRegistry(db);
        WorkerFiles.EnsureFolder(db.Path);
        _processes = new RunningProcesses(WorkerFiles.RunningPath(db.Path, options.WorkerId));
    }

    public string WorkerId => _options.WorkerId;
    public long JobsDone => Interlocked.Read(ref _done);
    public long JobsFailed => Interlocked.Read(ref _failed);

    /// <summary>
    /// Runs until <paramref name="stop"/> fires or a stop is requested through the queue: then claims nothing more,
    /// lets running jobs finish, and returns. <paramref name="kill"/> kills running jobs at once (they are retried).
    /// </summary>
    public Task RunAsync(CancellationToken stop, CancellationToken kill = default)
    {
        // The loop gets a thread of its own: it must wake promptly even when script-block jobs occupy the thread pool.
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                Run(stop, kill);
                done.SetResult();
            }
            catch (Exception ex)
            {
                done.SetException(ex);
            }
        })
        { IsBackground = true, Name = $"QueueCtl worker {WorkerId}" };
        thread.Start();
        return done.Task;
    }

    /// <summary>The loop itself, on the calling thread. See <see cref="RunAsync"/>.</summary>
    public void Run(CancellationToken stop, CancellationToken kill = default)
    {
        using var watcher = new QueueWatcher(_db);
        using var onStop = stop.Register(watcher.Poke);
        using var onKill = kill.Register(watcher.Poke);
        var process = Process.GetCurrentProcess();
        _registry.Register(WorkerId, QueueWorkerState.Running, Environment.ProcessId, process.StartTime.ToUniversalTime(),
            _options.Concurrency, _options.LogPath, _options.Version);
        _log.Write(WorkerLogLevel.Information,
            $"Worker {WorkerId} started: pid {Environment.ProcessId}, concurrency {_options.Concurrency}, queue {_db.Path}" +
            (watcher.IsWatching ? "" : " (no change notifications: polling)"));
        var stopping = false;
        try
        {
            _runners.Warm(_options.Concurrency);
            _registry.Prune(TimeSpan.FromDays(1));
            RecoverLostJobs();
            var lastControl = DateTime.MinValue;
            var controlDue = false;
            var nextHeartbeat = DateTime.MinValue;
            DateTime? nextDue = DateTime.MinValue;
            while (true)
            {
                var now = _db.Clock.GetUtcNow().UtcDateTime;
                if (!stopping && (stop.IsCancellationRequested || kill.IsCancellationRequested))
                    stopping = BeginStopping("stop requested by this process");
                if (kill.IsCancellationRequested) KillAll(StopReason.WorkerKilled);

                var changed = watcher.HasChanged();
                // Another process committed: a config change must apply to the very next claim.
                if (changed) _db.ReloadConfig();
                // Stop and cancel requests arrive as commits; look for them at most every 50 ms, but never skip one.
                controlDue |= changed;
                if (controlDue && now - lastControl >= ControlCheckInterval)
                {
                    controlDue = false;
                    lastControl = now;
                    if (!stopping && _registry.IsStopRequested(WorkerId)) stopping = BeginStopping("stop requested through the queue");
                    if (_running.Count > 0) StopCancelled(_leases.CancelRequests());
                }

                var finished = CollectEnded();
                var free = stopping ? 0 : _options.Concurrency - _running.Count;
                var wantClaim = free > 0 && (changed || finished.Count > 0 || nextDue <= now);
                var claimedAll = false;
                if (finished.Count > 0 || wantClaim)
                {
                    var cycle = _leases.FinishAndClaim(finished.Select(f => f.Run).ToList(), wantClaim ? free : 0);
                    Account(finished, cycle.FinishAccepted);
                    foreach (var claim in cycle.Claimed) Start(claim, watcher);
                    if (wantClaim)
                    {
                        claimedAll = cycle.Claimed.Count == free;
                        nextDue = claimedAll ? now : cycle.NextDueAt;
                    }
                }

                if (_options.ExitWhenEmpty && !stopping && !claimedAll && _running.Count == 0 && _ended.IsEmpty && !_leases.HasUnfinishedJobs())
                    stopping = BeginStopping("the queue is empty");
                if (stopping && _running.Count == 0 && _ended.IsEmpty) break;

                if (now >= nextHeartbeat)
                {
                    var wasStopping = stopping;
                    if (Heartbeat(ref stopping)) nextDue = now; // recovered jobs are due at once
                    nextHeartbeat = now + HeartbeatInterval;
                    if (stopping && !wasStopping) continue;
                }

                if (claimedAll || !_ended.IsEmpty) continue;
                var wakeAt = nextHeartbeat;
                if (controlDue && lastControl + ControlCheckInterval < wakeAt) wakeAt = lastControl + ControlCheckInterval;
                if (!stopping && _running.Count < _options.Concurrency && nextDue is { } due && due < wakeAt) wakeAt = due;
                var wait = wakeAt - _db.Clock.GetUtcNow().UtcDateTime;
                if (wait > _db.Config.PollInterval) wait = _db.Config.PollInterval;
                // With every slot busy, only a finished job, a control request or the heartbeat matters: never hold up
                // the other writers by waiting on their write lock.
                if (wait > TimeSpan.Zero) watcher.Wait(wait, waitForWriters: !stopping && _running.Count < _options.Concurrency);
            }
        }
        finally
        {
            ShutDown();
        }
    }

    /// <summary>Kills what still runs (only after a failure or a kill), records every ended run, and signs off.</summary>
    private void ShutDown()
    {
        KillAll(StopReason.WorkerKilled);
        Task.WaitAll(_running.Values.Select(r => r.Completion).ToArray());
        try
        {
            FlushEnded();
            _registry.SetState(WorkerId, QueueWorkerState.Stopped);
            _processes.Delete();
        }
        catch (QueueException ex)
        {
            _log.Write(WorkerLogLevel.Error, $"Could not record the worker's last state: {ex.Message}. Unfinished jobs are recovered when their leases expire.");
        }
        _log.Write(WorkerLogLevel.Information, $"Worker {WorkerId} stopped: {JobsDone} jobs done, {JobsFailed} failed.");
    }

    private TimeSpan HeartbeatInterval => _options.HeartbeatInterval ??
        TimeSpan.FromMilliseconds(Math.Clamp(_db.Config.LeaseDuration.TotalMilliseconds / 6, 100, 5000));

    private bool BeginStopping(string why)
    {
        _log.Write(WorkerLogLevel.Information, $"Worker {WorkerId} stopping ({why}): finishing {_running.Count} running job(s), claiming no more.");
        _registry.SetState(WorkerId, QueueWorkerState.Stopping);
        return true;
    }

    private void Start(ClaimedJob claim, QueueWatcher watcher)
    {
        var running = new RunningJob(claim);
        _running[claim.Seq] = running;
        var config = _db.Config;
        var execution = new JobExecution(claim.Job, claim.Job.Timeout ?? config.JobTimeout, config.OutputLimit, WorkerId) { Processes = _processes };
        _log.Write(WorkerLogLevel.Verbose, $"Job {claim.Job.Id} attempt {claim.Job.Attempts} started.");
        running.Completion = Task.Run(async () =>
        {
            RunOutcome outcome;
            try
            {
                var runner = _runners.For(claim.Job.Kind);
                outcome = runner is null
                    ? RunOutcome.Failure($"This worker cannot run {claim.Job.Kind} jobs.")
                    : await runner.RunAsync(execution, running.Cancel.Token).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                outcome = RunOutcome.Failure($"The job runner failed: {ex.GetType().Name}: {ex.Message}");
            }
            _ended.Enqueue((running, outcome));
            watcher.Poke();
        });
    }

    /// <summary>Turns ended runs into what is recorded, by why the host may have stopped them.</summary>
    private List<(RunningJob Job, FinishedRun Run)> CollectEnded()
    {
        var list = new List<(RunningJob, FinishedRun)>();
        while (_ended.TryDequeue(out var item))
        {
            var (job, outcome) = item;
            _running.Remove(job.Claim.Seq);
            job.Dispose();
            outcome = job.Reason switch
            {
                StopReason.CancelledByUser => RunOutcome.Cancel("Cancelled by Stop-QueueJob while running.", outcome.Output),
                StopReason.WorkerKilled => RunOutcome.Failure($"Worker '{WorkerId}' was stopped forcibly during the run.", null, outcome.Output),
                _ => outcome,
            };
            if (job.Reason == StopReason.LeaseLost)
            {
                _log.Write(WorkerLogLevel.Warning, $"Job {job.Claim.Job.Id}: this worker lost its lease; the run was stopped and its result discarded.");
                continue;
            }
            list.Add((job, new FinishedRun(job.Claim, outcome)));
        }
        return list;
    }

    private void Account(List<(RunningJob Job, FinishedRun Run)> finished, IReadOnlyList<bool> accepted)
    {
        for (var i = 0; i < finished.Count; i++)
        {
            var (job, run) = finished[i];
            if (!accepted[i])
            {
                _log.Write(WorkerLogLevel.Warning, $"Job {job.Claim.Job.Id}: the run ended after the job was taken from this worker; its result was discarded.");
                continue;
            }
            if (run.Outcome.Kind == RunResultKind.Succeeded)
            {
                Interlocked.Increment(ref _done);
                _log.Write(WorkerLogLevel.Verbose, $"Job {job.Claim.Job.Id} completed.");
            }
            else
            {
                Interlocked.Increment(ref _failed);
                _log.Write(WorkerLogLevel.Information, $"Job {job.Claim.Job.Id} attempt {job.Claim.Job.Attempts} {run.Outcome.Kind.ToString().ToLowerInvariant()}: {run.Outcome.Error}");
            }
        }
    }

    private void FlushEnded()
    {
        var finished = CollectEnded();
        if (finished.Count == 0) return;
        var cycle = _leases.FinishAndClaim(finished.Select(f => f.Run).ToList(), 0);
        Account(finished, cycle.FinishAccepted);
    }

    /// <summary>Renews leases and looks after the queue. True when it put jobs of a lost worker back.</summary>
    private bool Heartbeat(ref bool stopping)
    {
        try
        {
            _db.ReloadConfig();
            if (_registry.Heartbeat(WorkerId) && !stopping)
                stopping = BeginStopping("stop requested through the queue");
            var running = _running.Values.Where(r => r.Reason == StopReason.None).ToList();
            foreach (var renewal in _leases.Renew(running.Select(r => r.Claim).ToList()))
            {
                var job = _running[renewal.Claim.Seq];
                if (!renewal.Kept) job.Stop(StopReason.LeaseLost);
                else if (renewal.CancelRequested) job.Stop(StopReason.CancelledByUser);
                else job.LeaseUntil = renewal.LeaseUntil;
            }
            return RecoverLostJobs() > 0;
        }
        catch (QueueException ex)
        {
            _log.Write(WorkerLogLevel.Error, $"Heartbeat failed: {ex.Message}");
            // Fence ourselves: a run whose lease we could not renew may already be running elsewhere.
            var now = _db.Clock.GetUtcNow().UtcDateTime;
            foreach (var job in _running.Values.Where(r => r.LeaseUntil <= now)) job.Stop(StopReason.LeaseLost);
            return false;
        }
    }

    private void StopCancelled(IReadOnlyList<long> seqs)
    {
        foreach (var seq in seqs)
            if (_running.TryGetValue(seq, out var job)) job.Stop(StopReason.CancelledByUser);
    }

    /// <summary>Workers on this machine whose process is gone give up their jobs at once; elsewhere, expired leases do.</summary>
    private int RecoverLostJobs()
    {
        foreach (var (id, pid, startedAt) in _registry.LiveOnThisHost())
        {
            if (string.Equals(id, WorkerId, StringComparison.OrdinalIgnoreCase) || ProcessTree.IsAlive(pid, startedAt)) continue;
            // Kill its orphaned job processes first: only then may the jobs run again.
            var orphans = RunningProcesses.KillOrphans(WorkerFiles.RunningPath(_db.Path, id));
            if (orphans > 0) _log.Write(WorkerLogLevel.Warning, $"Killed {orphans} orphaned job process(es) of worker {id}.");
            var expired = _leases.ExpireLeasesOf(id);
            _registry.SetState(id, QueueWorkerState.Lost);
            _log.Write(WorkerLogLevel.Warning, $"Worker {id} (pid {pid}) is gone; recovering its {expired} job(s).");
        }
        _registry.MarkSilentWorkersLost();
        var recovered = _leases.RecoverExpired();
        foreach (var id in recovered)
            _log.Write(WorkerLogLevel.Warning, $"Job {id} was recovered from a lost worker and will run again.");
        return recovered.Count;
    }

    private void KillAll(StopReason reason)
    {
        foreach (var job in _running.Values.ToList()) job.Stop(reason);
    }
}
