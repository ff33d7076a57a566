using System.Collections.Concurrent;
using System.Diagnostics;
using QueueCtl.Execution;
using QueueCtl.Jobs;
using QueueCtl.Storage;

namespace QueueCtl.Worker;

/// <summary>
/// The claim-run-finish loop of one worker. A single loop owns the database connection's write path: finished runs are
/// recorded in the same transaction that claims the next jobs; runs execute concurrently up to the concurrency limit.
/// The loop sleeps on the driver's <see cref="IQueueListener"/> (woken by any change to the queue) so an idle worker costs
/// nothing and picks up new work at once. A heartbeat renews leases (<see cref="LeaseKeeper"/>), notices stop and
/// cancel requests, and recovers jobs of lost workers (<see cref="JobRescuer"/>).
/// Storage that fails for a while (locked, full, an I/O error, damaged) never ends the loop: runs go on, their results
/// wait in <see cref="PendingResults"/>, and every storage step is retried (<see cref="StorageOutage"/>).
/// </summary>
public sealed class WorkerHost
{
    private static readonly TimeSpan ControlCheckInterval = TimeSpan.FromMilliseconds(50);

    private readonly IQueueDriver _db;
    private readonly WorkerOptions _options;
    private readonly JobRunners _runners;
    private readonly IWorkerLog _log;
    private readonly ILeaseStore _leases;
    private readonly IWorkerRegistry _registry;
    private readonly LeaseKeeper _keeper;
    private readonly JobRescuer _rescuer;
    private readonly StorageOutage _outage;
    private readonly PendingResults _pending = new();
    private readonly ConcurrentQueue<(RunningJob Job, RunOutcome Outcome)> _ended = new();
    private readonly Dictionary<long, RunningJob> _running = new();
    private readonly RunningProcesses _processes;
    private long _done;
    private long _failed;

    // Loop state, touched only by the loop's thread.
    private bool _registered;
    private bool _stopping;
    private bool _stoppingRecorded;
    private DateTime _lastControl = DateTime.MinValue;
    private bool _controlDue;
    private DateTime _nextHeartbeat = DateTime.MinValue;
    private DateTime? _nextDue = DateTime.MinValue;
    private int _recordedInCycle;

    public WorkerHost(IQueueDriver db, WorkerOptions options, JobRunners runners, IWorkerLog log)
    {
        if (options.Concurrency < 1) throw new ArgumentOutOfRangeException(nameof(options), "Concurrency must be at least 1.");
        _db = db;
        _options = options;
        _runners = runners;
        _log = log;
        _leases = db.Leases(options.WorkerId, options.Queues);
        _registry = db.Workers;
        _keeper = new LeaseKeeper(_leases, db, log, () => FenceMargin);
        _rescuer = new JobRescuer(db, _leases, _registry, log);
        _outage = new StorageOutage(options.WorkerId, db, log);
        WorkerFiles.EnsureFolder(db.LocalPath);
        _processes = new RunningProcesses(WorkerFiles.RunningPath(db.LocalPath, options.WorkerId));
    }

    public string WorkerId => _options.WorkerId;
    public long JobsDone => Interlocked.Read(ref _done);
    public long JobsFailed => Interlocked.Read(ref _failed);

    /// <summary>
    /// Runs until <paramref name="stop"/> fires or a stop is requested through the queue: then claims nothing more,
    /// lets running jobs finish, records their results (waiting for storage if need be), and returns.
    /// <paramref name="kill"/> kills running jobs at once (they are retried) and returns after one try to record them.
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
        ApplyBusyTimeout();
        // Other workers' finished jobs are not this worker's business (unless it exits once the queue is empty): it
        // wakes for claimable jobs, configuration and control requests (stop, cancel).
        using var watcher = _db.Listen(QueueChanges.Ready | QueueChanges.Config | QueueChanges.Control
            | (_options.ExitWhenEmpty ? QueueChanges.Finished : QueueChanges.None));
        using var onStop = stop.Register(watcher.Poke);
        using var onKill = kill.Register(watcher.Poke);
        try
        {
            // Sign on before warming the runners (runspaces take a while): Get-QueueWorker shows the worker at once.
            TryStorage(() => SignOn(watcher));
            _runners.Warm(_options.Concurrency);
            while (true)
            {
                if (!_stopping && (stop.IsCancellationRequested || kill.IsCancellationRequested))
                    BeginStopping("stop requested by this process");
                if (kill.IsCancellationRequested) KillAll(StopReason.WorkerKilled);
                // Before anything that may wait on storage: a run must not outlive its lease.
                _keeper.FenceOverdue(_running.Values, FenceMargin);
                CollectEnded();

                var claimedAll = false;
                if (_outage.RetryDue(Now))
                {
                    _recordedInCycle = 0;
                    TryStorage(() => claimedAll = StorageCycle(watcher));
                }

                if (_running.Count == 0 && _ended.IsEmpty && (kill.IsCancellationRequested || (_stopping && _pending.Count == 0))) break;
                if (claimedAll || !_ended.IsEmpty) continue;
                Sleep(watcher);
            }
        }
        finally
        {
            ShutDown();
        }
    }

    /// <summary>
    /// Everything the loop does with storage, in order: sign on, read control requests, record held results and claim,
    /// then (when due) the heartbeat. Throws on a storage failure; whatever committed before it stays done, and what did
    /// not is still held for the next try. True when every free slot was filled.
    /// </summary>
    private bool StorageCycle(IQueueListener watcher)
    {
        var now = Now;
        if (!_registered) SignOn(watcher);
        var changes = watcher.TakeChanges();
        // Another process committed: a config change must apply to the very next claim.
        if ((changes & QueueChanges.Config) != 0) ReloadConfig();
        // Stop and cancel requests arrive as commits; look for them at most every 50 ms, but never skip one.
        _controlDue |= (changes & QueueChanges.Control) != 0;
        if (_controlDue && now - _lastControl >= ControlCheckInterval)
        {
            if (!_stopping && _registry.IsStopRequested(WorkerId)) BeginStopping("stop requested through the queue");
            if (_running.Count > 0) StopCancelled(_leases.CancelRequests());
            _controlDue = false;
            _lastControl = now;
        }
        if (_stopping && !_stoppingRecorded)
        {
            _registry.SetState(WorkerId, QueueWorkerState.Stopping);
            _stoppingRecorded = true;
        }

        // Held results go first, before any recovery below can look at their expired leases.
        var free = _stopping || _outage.IsCorrupt ? 0 : _options.Concurrency - _running.Count;
        var wantClaim = free > 0 && ((changes & QueueChanges.Ready) != 0 || _pending.Count > 0 || _nextDue <= now);
        var claimedAll = false;
        if (_pending.Count > 0 || wantClaim)
        {
            var batch = _pending.Batch();
            var asked = _keeper.Asking();
            var cycle = _leases.FinishAndClaim(batch.Select(b => b.Run).ToList(), wantClaim ? free : 0);
            _pending.Recorded(batch);
            _recordedInCycle += batch.Count;
            Account(batch, cycle.FinishAccepted);
            foreach (var claim in cycle.Claimed) Start(claim, asked, watcher);
            if (wantClaim)
            {
                claimedAll = cycle.Claimed.Count == free;
                _nextDue = claimedAll ? now : now + cycle.NextDueIn;
            }
        }

        if (_options.ExitWhenEmpty && !_stopping && !claimedAll && _running.Count == 0 && _ended.IsEmpty && _pending.Count == 0
            && !_db.Jobs.HasUnfinishedJobs(_options.Queues))
            BeginStopping("the queue is empty");

        if (now >= _nextHeartbeat)
        {
            Heartbeat(now);
            _nextHeartbeat = now + HeartbeatInterval;
        }
        return claimedAll;
    }

    /// <summary>Runs storage work; a failure starts or continues an outage instead of ending the loop.</summary>
    private void TryStorage(Action work)
    {
        try
        {
            work();
            _outage.Succeeded(Now, _recordedInCycle);
        }
        catch (QueueException ex) when (ex.Code == QueueErrorCode.DatabaseUnavailable)
        {
            _outage.Failed(ex, Now, HeartbeatInterval, _pending.Count, _running.Count);
            // What the failed cycle may have seen and not acted on (an enqueue, a stop or cancel request) is looked
            // for again on the next try.
            _nextDue = DateTime.MinValue;
            _controlDue = true;
        }
    }

    private void SignOn(IQueueListener watcher)
    {
        var process = Process.GetCurrentProcess();
        _registry.Register(WorkerId, QueueWorkerState.Running, Environment.ProcessId, process.StartTime.ToUniversalTime(),
            _options.Concurrency, _options.LogPath, _options.Version);
        _registered = true;
        _log.Write(WorkerLogLevel.Information,
            $"Worker {WorkerId} started: pid {Environment.ProcessId}, concurrency {_options.Concurrency}, " +
            $"{(_options.Queues is { } q ? "queues " + string.Join(", ", q) : "every queue")} of {_db.Address}" +
            (watcher.IsWatching ? "" : " (no change notifications: polling)"));
        foreach (var problem in _db.Config.Problems)
            _log.Write(WorkerLogLevel.Warning, problem.ToException().Message + " The default applies.");
        _registry.Prune(TimeSpan.FromDays(1));
    }

    /// <summary>Renews leases and looks after the queue.</summary>
    private void Heartbeat(DateTime now)
    {
        ReloadConfig();
        // Leases first: a heartbeat then always follows the renewal it vouches for (see JobRescuer).
        _keeper.Renew(_running.Values);
        if (_registry.Heartbeat(WorkerId) && !_stopping) BeginStopping("stop requested through the queue");
        // Right after an outage every live worker's leases look expired, held results included: give them a lease's
        // time to renew and record (each retries at least once a heartbeat) before treating expiry as loss. An outage
        // that could have let leases expire lasted most of a lease here too (this worker also tries once a heartbeat);
        // a shorter one (a busy moment) changes nothing.
        if (_outage.IsDown || _outage.EndedWithin(now, _db.Config.LeaseDuration, HeartbeatInterval)) return;
        if (_rescuer.Rescue(_running.Keys.Concat(_pending.Seqs).ToList()) > 0) _nextDue = now; // recovered jobs are due at once
    }

    /// <summary>Sleeps until the next thing to do: a finished run, a commit, the heartbeat, a retry or a fence.</summary>
    private void Sleep(IQueueListener watcher)
    {
        var now = Now;
        var canClaim = !_stopping && !_outage.IsCorrupt && _running.Count < _options.Concurrency;
        DateTime wakeAt;
        if (_outage.RetryAt is { } retry)
        {
            wakeAt = retry;
        }
        else
        {
            wakeAt = _nextHeartbeat;
            if (_controlDue && _lastControl + ControlCheckInterval < wakeAt) wakeAt = _lastControl + ControlCheckInterval;
            if (canClaim && _nextDue is { } due && due < wakeAt) wakeAt = due;
        }
        var wait = wakeAt - now;
        if (_keeper.NextFence(_running.Values, FenceMargin) is { } fence && fence < wait) wait = fence;
        if (wait > _db.Config.PollInterval) wait = _db.Config.PollInterval;
        if (wait <= TimeSpan.Zero) return;
        // With every slot busy, only a finished job, a control request or the heartbeat matters: never hold up the
        // other writers by waiting on their write lock.
        var waitForWriters = canClaim && !_outage.IsDown;
        try
        {
            watcher.Wait(wait, waitForWriters);
        }
        catch (QueueException ex) when (ex.Code == QueueErrorCode.DatabaseUnavailable)
        {
            _outage.Failed(ex, Now, HeartbeatInterval, _pending.Count, _running.Count);
        }
    }

    /// <summary>Kills what still runs (only after a failure or a kill), records every ended run, and signs off.</summary>
    private void ShutDown()
    {
        KillAll(StopReason.WorkerKilled);
        Task.WaitAll(_running.Values.Select(r => r.Completion).ToArray());
        CollectEnded();
        try
        {
            if (_pending.Count > 0)
            {
                var batch = _pending.Batch();
                var cycle = _leases.FinishAndClaim(batch.Select(b => b.Run).ToList(), 0);
                _pending.Recorded(batch);
                Account(batch, cycle.FinishAccepted);
            }
            _registry.SetState(WorkerId, QueueWorkerState.Stopped);
            _processes.Delete();
        }
        catch (QueueException ex)
        {
            _log.Write(WorkerLogLevel.Error,
                $"Could not record the worker's last state ({_pending.Count} finished result(s) not recorded): {ex.Message}. " +
                "Unfinished jobs are recovered when their leases expire.");
        }
        _log.Write(WorkerLogLevel.Information, $"Worker {WorkerId} stopped: {JobsDone} jobs done, {JobsFailed} failed.");
    }

    private DateTime Now => _db.Clock.GetUtcNow().UtcDateTime;

    private TimeSpan HeartbeatInterval => _options.HeartbeatInterval ??
        TimeSpan.FromMilliseconds(Math.Clamp(_db.Config.LeaseDuration.TotalMilliseconds / 6, 100, 5000));

    /// <summary>
    /// How long one storage call of this worker may wait for another connection's write lock: half a heartbeat, at most
    /// a second, so a locked file delays renewals and self-fencing by that much at most. The loop then retries.
    /// </summary>
    private TimeSpan StorageBusyTimeout =>
        TimeSpan.FromMilliseconds(Math.Clamp(HeartbeatInterval.TotalMilliseconds / 2, 50, 1000));

    /// <summary>A run is stopped this long before its lease ends: a heartbeat plus the longest a storage call can block the loop.</summary>
    private TimeSpan FenceMargin => HeartbeatInterval + StorageBusyTimeout;

    private void ApplyBusyTimeout()
    {
        var wanted = StorageBusyTimeout;
        if (_db.BusyTimeout != wanted) _db.BusyTimeout = wanted;
    }

    private void ReloadConfig()
    {
        _db.ReloadConfig();
        ApplyBusyTimeout();
    }

    private void BeginStopping(string why)
    {
        _log.Write(WorkerLogLevel.Information, $"Worker {WorkerId} stopping ({why}): finishing {_running.Count} running job(s), claiming no more.");
        _stopping = true;
    }

    private void Start(ClaimedJob claim, (long AskedAt, TimeSpan Length) asked, IQueueListener watcher)
    {
        var running = new RunningJob(claim);
        _keeper.Granted(running, claim.LeaseUntil, asked);
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

    /// <summary>Moves ended runs to the pending results, worded by why the host may have stopped them.</summary>
    private void CollectEnded()
    {
        while (_ended.TryDequeue(out var item))
        {
            var (job, outcome) = item;
            _running.Remove(job.Claim.Seq);
            job.Dispose();
            if (job.Reason == StopReason.LeaseLost)
            {
                _log.Write(WorkerLogLevel.Warning, $"Job {job.Claim.Job.Id}: this worker lost its lease; the run was stopped and its result discarded.");
                continue;
            }
            outcome = job.Reason switch
            {
                StopReason.CancelledByUser => RunOutcome.Cancel("Cancelled by Stop-QueueJob while running.", outcome.Output),
                StopReason.WorkerKilled => RunOutcome.Failure($"Worker '{WorkerId}' was stopped forcibly during the run.", null, outcome.Output),
                // Recorded like a lost run (recovery would say the same), and at once: an expired lease left behind
                // would make a rescuer on this machine take this live worker for a frozen one.
                StopReason.LeaseOverdue => RunOutcome.Failure(
                    $"Worker '{WorkerId}' could not renew its lease (the queue database was unavailable); the run was stopped before the lease ran out.",
                    null, outcome.Output),
                _ => outcome,
            };
            _pending.Add(job, outcome);
        }
    }

    private void Account(IReadOnlyList<(RunningJob Job, FinishedRun Run)> finished, IReadOnlyList<bool> accepted)
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

    private void StopCancelled(IReadOnlyList<long> seqs)
    {
        foreach (var seq in seqs)
            if (_running.TryGetValue(seq, out var job)) job.Stop(StopReason.CancelledByUser);
    }

    private void KillAll(StopReason reason)
    {
        foreach (var job in _running.Values.ToList()) job.Stop(reason);
    }
}
