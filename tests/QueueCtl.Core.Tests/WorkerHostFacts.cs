using System.Collections.Concurrent;
using QueueCtl.Jobs;
using QueueCtl.Storage;
using QueueCtl.Storage.Sqlite;
using QueueCtl.Worker;

namespace QueueCtl.Tests;

/// <summary>The worker loop in this process, against a real queue file and real shell commands.</summary>
public class WorkerHostFacts : IDisposable
{
    private readonly TempQueue _queue = new(TimeProvider.System);
    private readonly ListLog _log = new();

    public void Dispose() => _queue.Dispose();

    private IJobStore Jobs => _queue.Jobs;

    private (WorkerHost Host, Task Run, CancellationTokenSource Stop, CancellationTokenSource Kill) StartWorker(int concurrency = 1,
        bool exitWhenEmpty = false, string? id = null, TimeSpan? heartbeat = null)
    {
        var host = new WorkerHost(_queue.Open(), new WorkerOptions
        {
            WorkerId = id ?? WorkerOptions.NewWorkerId(), Concurrency = concurrency, ExitWhenEmpty = exitWhenEmpty, HeartbeatInterval = heartbeat,
        }, new JobRunners(), _log);
        var stop = new CancellationTokenSource();
        var kill = new CancellationTokenSource();
        return (host, Task.Run(() => host.RunAsync(stop.Token, kill.Token)), stop, kill);
    }

    private async Task WaitForState(string id, QueueJobState state, int seconds = 20) =>
        await ShellCommandRunnerFacts.WaitUntil(() => Jobs.Get(id).State == state, seconds);

    [Fact]
    public async Task Drains_TheQueue_WithConcurrency_AndExitsWhenEmpty()
    {
        Jobs.Enqueue(Enumerable.Range(0, 20).Select(i => new JobSpec { Id = $"j{i}", Command = $"echo {i}" }).ToList());
        var worker = StartWorker(concurrency: 3, exitWhenEmpty: true);
        await worker.Run.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(20, Jobs.Status().Completed);
        Assert.Equal(20, worker.Host.JobsDone);
        Assert.Equal("7\n", _queue.Db.Outputs.Get("j7").Single().Output.StandardOutput);
        var registered = _queue.Db.Workers.List().Single();
        Assert.Equal(QueueWorkerState.Stopped, registered.State);
        Assert.Equal(20, registered.JobsDone);
    }

    [Fact]
    public async Task FailingJob_IsRetried_ThenMovedToTheDeadLetterQueue()
    {
        _queue.Db.Settings.Set("backoff-max", "0");
        Jobs.Enqueue(new JobSpec { Id = "bad", Command = "echo nope >&2; exit 4", MaxRetries = 2 });
        var worker = StartWorker(exitWhenEmpty: true);
        await worker.Run.WaitAsync(TimeSpan.FromSeconds(60));
        var job = Jobs.Get("bad");
        Assert.Equal(QueueJobState.Dead, job.State);
        Assert.Equal(3, job.Attempts);
        Assert.Equal(4, job.ExitCode);
        Assert.Equal("Exited with code 4: nope", job.LastError);
        Assert.Equal(3, _queue.Db.Outputs.Get("bad").Count);
    }

    [Fact]
    public async Task AnIdleWorker_IsWokenByAnEnqueue_NotByItsPoll()
    {
        // Neither the poll (60 s) nor the heartbeat (every 5 s) can explain a pickup within two seconds.
        _queue.Db.Settings.Set("poll-interval", "60");
        _queue.Db.Settings.Set("lease-duration", "600");
        var worker = StartWorker();
        await ShellCommandRunnerFacts.WaitUntil(() => _queue.Db.Workers.List().Any(w => w.State == QueueWorkerState.Running));
        await Task.Delay(300); // let it settle into its idle wait
        Jobs.Enqueue(new JobSpec { Id = "wake", Command = "true" });
        await WaitForState("wake", QueueJobState.Completed, seconds: 2);
        worker.Stop.Cancel();
        await worker.Run.WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task GracefulStop_FinishesTheRunningJob_AndClaimsNoMore()
    {
        Jobs.Enqueue(new[] { new JobSpec { Id = "running", Command = "sleep 1" }, new JobSpec { Id = "next", Command = "true" } });
        var worker = StartWorker();
        await WaitForState("running", QueueJobState.Processing);
        worker.Stop.Cancel();
        await worker.Run.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(QueueJobState.Completed, Jobs.Get("running").State);
        Assert.Equal(QueueJobState.Pending, Jobs.Get("next").State);
    }

    [Fact]
    public async Task StopRequestedThroughTheQueue_StopsTheWorker()
    {
        var worker = StartWorker(id: "remote-stop");
        await ShellCommandRunnerFacts.WaitUntil(() => _queue.Db.Workers.List().Any(w => w.State == QueueWorkerState.Running));
        Assert.True(_queue.Db.Workers.RequestStop("remote-stop"));
        await worker.Run.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(QueueWorkerState.Stopped, _queue.Db.Workers.List().Single().State);
    }

    [Fact]
    public async Task CancellingARunningJob_KillsIt_AndLeavesItCancelled()
    {
        Jobs.Enqueue(new JobSpec { Id = "long", Command = "sleep 60", MaxRetries = 3 });
        var worker = StartWorker();
        await WaitForState("long", QueueJobState.Processing);
        Jobs.Cancel("long");
        await WaitForState("long", QueueJobState.Cancelled, seconds: 10);
        Assert.Equal(1, Jobs.Get("long").Attempts);
        worker.Stop.Cancel();
        await worker.Run.WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task Kill_StopsRunningJobs_AndCountsTheRunAsFailed()
    {
        Jobs.Enqueue(new JobSpec { Id = "victim", Command = "sleep 60" });
        var worker = StartWorker();
        await WaitForState("victim", QueueJobState.Processing);
        worker.Kill.Cancel();
        await worker.Run.WaitAsync(TimeSpan.FromSeconds(30));
        var job = Jobs.Get("victim");
        Assert.Equal(QueueJobState.Failed, job.State);
        Assert.Contains("stopped forcibly", job.LastError);
    }

    [Fact]
    public async Task AWorkerWhoseProcessIsGone_HasItsJobsRecoveredAtOnce()
    {
        Jobs.Enqueue(new JobSpec { Id = "orphan", Command = "true", MaxRetries = 1 });
        var registry = _queue.Db.Workers;
        registry.Register("ghost", QueueWorkerState.Running, processId: int.MaxValue - 7, processStartedAt: null, concurrency: 1, logPath: null, version: null);
        _queue.Db.Leases("ghost").Claim(1);
        _queue.Db.Settings.Set("backoff-max", "0");

        var worker = StartWorker(exitWhenEmpty: true);
        await worker.Run.WaitAsync(TimeSpan.FromSeconds(30));
        var job = Jobs.Get("orphan");
        Assert.Equal(QueueJobState.Completed, job.State);
        Assert.Equal(2, job.Attempts);
        Assert.Contains("ghost", job.Errors.Single().Error);
        Assert.Equal(QueueWorkerState.Lost, registry.List().Single(w => w.Id == "ghost").State);
    }

    [Fact]
    public async Task ARunningWorker_NoticesAWorkerDie_KillsItsOrphanedJobProcess_AndRunsTheJobAgain()
    {
        if (OperatingSystem.IsWindows()) return;
        _queue.Db.Settings.Set("backoff-max", "0");
        var worker = StartWorker(heartbeat: TimeSpan.FromMilliseconds(100));
        await ShellCommandRunnerFacts.WaitUntil(() => _queue.Db.Workers.List().Any(w => w.State == QueueWorkerState.Running));

        // A worker that died mid-job: registered with a pid that no longer exists, holding a claimed job whose
        // process (a real one) is still running.
        using var orphan = System.Diagnostics.Process.Start("sleep", "30");
        var ghostFiles = new Execution.RunningProcesses(WorkerFiles.RunningPath(_queue.Path_, "ghost"));
        ghostFiles.Add(orphan.Id, orphan.StartTime.ToUniversalTime());
        Jobs.Enqueue(new JobSpec { Id = "orphaned", Command = "true", RunAt = DateTime.UtcNow.AddHours(1) });
        var registry = _queue.Db.Workers;
        registry.Register("ghost", QueueWorkerState.Running, processId: int.MaxValue - 7, processStartedAt: null, concurrency: 1, logPath: null, version: null);
        _queue.Db.Write(() => _queue.Db.Execute(
            "UPDATE jobs SET state = 'Processing', worker_id = 'ghost', attempts = 1, runs = 1, lease_until = $l, run_at = 0 WHERE id = 'orphaned'",
            ("$l", DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeMilliseconds())));

        await WaitForState("orphaned", QueueJobState.Completed, seconds: 10);
        Assert.True(orphan.WaitForExit(5000), "the orphaned job process should have been killed");
        Assert.Equal(2, Jobs.Get("orphaned").Attempts);
        Assert.False(File.Exists(WorkerFiles.RunningPath(_queue.Path_, "ghost")));
        worker.Stop.Cancel();
        await worker.Run.WaitAsync(TimeSpan.FromSeconds(30));
    }

    private sealed class ListLog : IWorkerLog
    {
        public ConcurrentQueue<string> Lines { get; } = new();
        public void Write(WorkerLogLevel level, string message) => Lines.Enqueue($"{level}: {message}");
    }
}
