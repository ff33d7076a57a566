using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;
using QueueCtl.Execution;
using QueueCtl.Jobs;
using QueueCtl.Storage;
using QueueCtl.Storage.Sqlite;
using QueueCtl.Worker;

namespace QueueCtl.Tests;

/// <summary>
/// The worker loop when storage misbehaves (locked past every timeout, full, damaged) and when another worker on this
/// machine freezes: real queue files, real shell jobs, real locks from other connections.
/// </summary>
public class WorkerHostStorageFacts : IDisposable
{
    private readonly TempQueue _queue = new(TimeProvider.System);
    private readonly TimedLog _log = new();
    private readonly List<(Task Run, CancellationTokenSource Stop)> _workers = new();
    private readonly Xunit.Abstractions.ITestOutputHelper _output;

    public WorkerHostStorageFacts(Xunit.Abstractions.ITestOutputHelper output) => _output = output;

    public void Dispose()
    {
        foreach (var line in _log.Lines) _output.WriteLine($"{line.At:HH:mm:ss.fff} {line.Level} {line.Message}");
        foreach (var (run, stop) in _workers)
        {
            stop.Cancel();
            try { run.Wait(TimeSpan.FromSeconds(30)); } catch (AggregateException) { }
        }
        _queue.Dispose();
    }

    private IJobStore Jobs => _queue.Jobs;

    private string InFolder(string name) => Path.Combine(_queue.Folder, name);

    private (WorkerHost Host, Task Run, SqliteDriver Db) StartWorker(string id, int concurrency = 1)
    {
        var db = (SqliteDriver)_queue.Open();
        var host = new WorkerHost(db, new WorkerOptions { WorkerId = id, Concurrency = concurrency }, new JobRunners(), _log);
        var stop = new CancellationTokenSource();
        var run = host.RunAsync(stop.Token);
        _workers.Add((run, stop));
        return (host, run, db);
    }

    /// <summary>A shell job that waits for the file "go" in the queue's folder, then appends its id to "ran".</summary>
    private string Gated(string then = "") =>
        $"while [ ! -f '{InFolder("go")}' ]; do sleep 0.02; done; {then}echo $QUEUECTL_JOB_ID >> '{InFolder("ran")}'";

    private string[] Ran() => File.Exists(InFolder("ran")) ? File.ReadAllLines(InFolder("ran")) : Array.Empty<string>();

    private static Task WaitUntil(Func<bool> condition, int seconds = 30) => ShellCommandRunnerFacts.WaitUntil(condition, seconds);

    [Fact]
    public async Task AWriteLock_LongerThanTheBusyTimeoutAndTheLease_StopsNoWorker_FencesTheLongRun_AndRecordsFinishedRunsOnce()
    {
        if (OperatingSystem.IsWindows()) return;
        _queue.Db.Settings.Set("lease-duration", "3");
        Jobs.Enqueue(new[]
        {
            new JobSpec { Id = "q1", Command = Gated() },
            new JobSpec { Id = "q2", Command = Gated() },
            new JobSpec { Id = "long", Command = $"echo $$ > '{InFolder("long.pid")}'; exec sleep 60", MaxRetries = 0 },
        });
        var a = StartWorker("a", concurrency: 3);
        await WaitUntil(() => Jobs.Status().Processing == 3 && File.Exists(InFolder("long.pid")) && File.ReadAllText(InFolder("long.pid")).Trim().Length > 0);
        var longPid = int.Parse(File.ReadAllText(InFolder("long.pid")).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        // A second worker with nothing to run: its rescuer must not take a's finished runs when the lock goes away.
        var b = StartWorker("b");
        await WaitUntil(() => _queue.Db.Workers.List().Count(w => w.State == QueueWorkerState.Running) == 2);

        using var locker = new SqliteConnection($"Data Source={_queue.Path_};Pooling=False");
        locker.Open();
        using (var begin = locker.CreateCommand()) { begin.CommandText = "BEGIN IMMEDIATE"; begin.ExecuteNonQuery(); }
        var lockedAt = DateTime.UtcNow;
        // Readers are not blocked by a writer in WAL mode; the lease cannot change while the lock is held.
        var leaseUntil = UnixTime.FromMs(_queue.Sqlite.Read(() => _queue.Sqlite.Scalar<long>("SELECT lease_until FROM jobs WHERE id = 'long'")));

        File.WriteAllText(InFolder("go"), "");
        await WaitUntil(() => Ran().Length == 2);

        // The long run is killed by its own worker before its lease ends, although no renewal can get through.
        await WaitUntil(() => !ProcessTree.IsAlive(longPid, null), seconds: 20);
        var fenced = _log.Lines.Single(l => l.Message.Contains("Job long: its lease"));
        Assert.True(fenced.At < leaseUntil, $"fenced at {fenced.At:O}, lease until {leaseUntil:O}");

        // Keep the lock past the lease and far past the worker's busy timeout.
        await WaitUntil(() => DateTime.UtcNow > leaseUntil.AddSeconds(1));
        Assert.True(DateTime.UtcNow - lockedAt > TimeSpan.FromSeconds(2));
        Assert.False(a.Run.IsCompleted, "worker a must not exit while the database is locked");
        Assert.False(b.Run.IsCompleted, "worker b must not exit while the database is locked");
        Assert.Equal(QueueJobState.Processing, Jobs.Get("q1").State);
        using (var rollback = locker.CreateCommand()) { rollback.CommandText = "ROLLBACK"; rollback.ExecuteNonQuery(); }

        await WaitUntil(() => Jobs.Get("q1").State == QueueJobState.Completed && Jobs.Get("q2").State == QueueJobState.Completed);
        foreach (var id in new[] { "q1", "q2" })
        {
            var job = Jobs.Get(id);
            Assert.Equal(1, job.Runs);
            Assert.Empty(job.Errors);
            Assert.Equal("a", job.WorkerId);
        }
        Assert.Equal(new[] { "q1", "q2" }, Ran().Order());
        // The fenced run is not recorded as finished but as a lost run, by its own worker.
        await WaitUntil(() => Jobs.Get("long").State == QueueJobState.Dead);
        Assert.Contains("Worker 'a' could not renew its lease", Jobs.Get("long").LastError);
        Assert.DoesNotContain(_log.Lines, l => l.Message.Contains("frozen") || l.Message.Contains("recovered from a lost worker"));
        Assert.False(a.Run.IsCompleted);
        Assert.False(b.Run.IsCompleted);
        Assert.Single(_log.Lines, l => l.Message.StartsWith("Worker a: storage unavailable since", StringComparison.Ordinal) && l.Message.Contains("locked"));
        Assert.Single(_log.Lines, l => l.Message.StartsWith("Worker a: storage available again", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AWorkerThatCannotRenew_StopsItsRun_WhenItsOwnClockSaysTheLeaseIsAlmostOver()
    {
        if (OperatingSystem.IsWindows()) return;
        // A moved clock: the lease (60 s) cannot run out in real time during this test, only on the worker's clock.
        using var queue = new TempQueue();
        queue.Db.Settings.Set("lease-duration", "60");
        queue.Db.Jobs.Enqueue(new JobSpec { Id = "long", Command = $"echo $$ > '{Path.Combine(queue.Folder, "pid")}'; exec sleep 60" });
        var host = new WorkerHost(queue.Open(), new WorkerOptions { WorkerId = "w" }, new JobRunners(), _log);
        var stop = new CancellationTokenSource();
        _workers.Add((host.RunAsync(stop.Token), stop));
        var pidFile = Path.Combine(queue.Folder, "pid");
        await WaitUntil(() => File.Exists(pidFile) && File.ReadAllText(pidFile).Trim().Length > 0);
        var pid = int.Parse(File.ReadAllText(pidFile).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        var leaseUntil = UnixTime.FromMs(queue.Sqlite.Read(() => queue.Sqlite.Scalar<long>("SELECT lease_until FROM jobs WHERE id = 'long'")));

        using var locker = new SqliteConnection($"Data Source={queue.Path_};Pooling=False");
        locker.Open();
        using (var begin = locker.CreateCommand()) { begin.CommandText = "BEGIN IMMEDIATE"; begin.ExecuteNonQuery(); }
        // Still well inside the lease, but past the point where the worker must stop the run (a heartbeat of 5 s plus
        // a busy timeout of 1 s before the lease ends); no renewal can get through.
        queue.Manual.Advance(leaseUntil - queue.Manual.UtcNow - TimeSpan.FromSeconds(5.5));
        await WaitUntil(() => !ProcessTree.IsAlive(pid, null), seconds: 20);
        Assert.True(queue.Manual.UtcNow < leaseUntil);
        using (var rollback = locker.CreateCommand()) { rollback.CommandText = "ROLLBACK"; rollback.ExecuteNonQuery(); }

        // The stopped run is recorded as a lost attempt, not as finished.
        var jobs = queue.Db.Jobs;
        await WaitUntil(() => jobs.Get("long").State == QueueJobState.Failed);
        Assert.Contains("could not renew its lease", jobs.Get("long").LastError);
        Assert.Equal(1, jobs.Get("long").Runs);
    }

    [Fact]
    public async Task AFullDisk_StopsNoWorker_AndTheHeldResultIsRecordedOnceThereIsRoom()
    {
        if (OperatingSystem.IsWindows()) return;
        _queue.Db.Settings.Set("lease-duration", "6");
        // 20 KB of output needs new pages in job_output: with the file capped at its size, recording it is SQLITE_FULL.
        Jobs.Enqueue(new JobSpec { Id = "big", Command = Gated("head -c 20000 /dev/zero | tr '\\0' x; ") });
        var worker = StartWorker("w");
        await WaitUntil(() => Jobs.Get("big").State == QueueJobState.Processing);
        var pages = worker.Db.Read(() => worker.Db.Scalar<long>("PRAGMA page_count"));
        worker.Db.Read(() => worker.Db.Scalar<long>($"PRAGMA max_page_count = {pages}"));

        File.WriteAllText(InFolder("go"), "");
        await WaitUntil(() => _log.Lines.Any(l => l.Message.StartsWith("Worker w: storage unavailable since", StringComparison.Ordinal)));
        Assert.Contains(_log.Lines, l => l.Level == WorkerLogLevel.Warning && l.Message.Contains("full") && l.Message.Contains("holding 1 finished result"));
        Assert.False(worker.Run.IsCompleted, "the worker must not exit on a full disk");
        Assert.Equal(QueueJobState.Processing, Jobs.Get("big").State);

        worker.Db.Read(() => worker.Db.Scalar<long>("PRAGMA max_page_count = 1000000"));
        await WaitUntil(() => Jobs.Get("big").State == QueueJobState.Completed);
        Assert.Equal(1, Jobs.Get("big").Runs);
        Assert.Equal(20000, _queue.Db.Outputs.Get("big").Single().Output.StandardOutput!.Length);
        Assert.Equal(new[] { "big" }, Ran());
        await WaitUntil(() => _log.Lines.Any(l => l.Message.StartsWith("Worker w: storage available again", StringComparison.Ordinal)));
        Assert.False(worker.Run.IsCompleted);
    }

    [Fact]
    public async Task AFrozenWorkerOnThisMachine_HasItsJobProcessKilled_BeforeItsJobRunsAgain()
    {
        if (OperatingSystem.IsWindows()) return;
        _queue.Db.Settings.Set("backoff-max", "0");
        // The frozen worker: a live process (stopped, as with kill -STOP) registered as a worker, holding a job whose
        // lease has expired, and whose job process still runs.
        using var frozen = System.Diagnostics.Process.Start("sleep", "120");
        using var jobProcess = System.Diagnostics.Process.Start("sleep", "120");
        try
        {
            System.Diagnostics.Process.Start("kill", $"-STOP {frozen.Id}").WaitForExit();
            var registry = _queue.Db.Workers;
            WorkerFiles.EnsureFolder(_queue.Path_);
            registry.Register("frozen", QueueWorkerState.Running, frozen.Id, frozen.StartTime.ToUniversalTime(), 1, null, null);
            var files = new RunningProcesses(WorkerFiles.RunningPath(_queue.Path_, "frozen"));
            files.Add(jobProcess.Id, jobProcess.StartTime.ToUniversalTime());
            files.Dispose();
            // The second run records whether the first run's process was still there when it started.
            var check = $"s=$(cut -d' ' -f3 /proc/{jobProcess.Id}/stat 2>/dev/null); if [ -z \"$s\" ] || [ \"$s\" = Z ]; then echo gone; else echo alive; fi >> '{InFolder("ran")}'";
            Jobs.Enqueue(new JobSpec { Id = "stuck", Command = check, MaxRetries = 1 });
            _queue.Db.Leases("frozen").Claim(1);
            _queue.Sqlite.Write(() => _queue.Sqlite.Execute("UPDATE jobs SET lease_until = $l WHERE id = 'stuck'", ("$l", DateTimeOffset.UtcNow.AddSeconds(-1).ToUnixTimeMilliseconds())));
            _queue.Sqlite.Write(() => _queue.Sqlite.Execute("UPDATE workers SET heartbeat_at = $h WHERE id = 'frozen'", ("$h", DateTimeOffset.UtcNow.AddMinutes(-5).ToUnixTimeMilliseconds())));

            StartWorker("rescuer");
            await WaitUntil(() => Jobs.Get("stuck").State == QueueJobState.Completed);
            Assert.Equal(new[] { "gone" }, Ran());
            Assert.True(jobProcess.WaitForExit(5000));
            Assert.True(ProcessTree.IsAlive(frozen.Id, null), "the frozen worker's own process is left alone");
            Assert.Contains(_log.Lines, l => l.Message.Contains("Worker frozen") && l.Message.Contains("killed its 1 job process"));
            Assert.Contains("frozen", Jobs.Get("stuck").Errors.Single().Error);
        }
        finally
        {
            frozen.Kill();
            try { jobProcess.Kill(); } catch (InvalidOperationException) { }
        }
    }

    [Fact]
    public async Task ADamagedQueueFile_IsReportedOnce_AndTheWorkerStaysUp_ClaimingNoMore()
    {
        if (OperatingSystem.IsWindows()) return;
        // Damage the page of the jobs table that holds j060's row, in the middle of the file: the worker runs the jobs
        // before it, then trips over the page when it claims the jobs stored there.
        Jobs.Enqueue(Enumerable.Range(0, 120).Select(i => new JobSpec { Id = $"j{i:000}", Command = $"echo $QUEUECTL_JOB_ID >> '{InFolder("ran")}' # row-of-j{i:000} " + new string('x', 300) }).ToList());
        _queue.Sqlite.Read(() => _queue.Sqlite.Scalar<long>("PRAGMA wal_checkpoint(TRUNCATE)"));
        var pageSize = (int)_queue.Sqlite.Read(() => _queue.Sqlite.Scalar<long>("PRAGMA page_size"));
        var bytes = File.ReadAllBytes(_queue.Path_);
        var at = bytes.AsSpan().IndexOf("row-of-j060"u8);
        Assert.True(at > 0);
        using (var file = new FileStream(_queue.Path_, FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
        {
            file.Position = at / pageSize * pageSize;
            file.Write(Enumerable.Repeat((byte)0xFF, pageSize).ToArray());
        }

        var worker = StartWorker("w");
        await WaitUntil(() => _log.Lines.Any(l => l.Level == WorkerLogLevel.Error));
        var error = _log.Lines.Single(l => l.Level == WorkerLogLevel.Error);
        Assert.Contains(_queue.Path_, error.Message);
        Assert.Contains("damaged", error.Message);
        Assert.Contains("Test-Queue", error.Message);
        // It keeps running (so Get-QueueWorker and its log show it), says so once, and claims nothing more.
        // (Counted from job_counts: anything that reads the damaged page fails.)
        long Count(string state) => _queue.Sqlite.Read(() => _queue.Sqlite.Scalar<long>("SELECT n FROM job_counts WHERE state = $s", ("$s", state)));
        await WaitUntil(() => Count("Processing") == 0);
        var completed = Count("Completed");
        Assert.InRange(completed, 1, 119);
        await Task.Delay(1000);
        Assert.False(worker.Run.IsCompleted, "the worker must not exit on a damaged file");
        Assert.Single(_log.Lines, l => l.Level == WorkerLogLevel.Error);
        Assert.Equal(completed, Count("Completed"));
        Assert.Equal(completed, Ran().Length);
    }

    private sealed class TimedLog : IWorkerLog
    {
        public ConcurrentQueue<(DateTime At, WorkerLogLevel Level, string Message)> Lines { get; } = new();
        public void Write(WorkerLogLevel level, string message) => Lines.Enqueue((DateTime.UtcNow, level, message));
    }
}
