using System.Collections.Concurrent;
using QueueCtl.Jobs;
using QueueCtl.Storage;
using QueueCtl.Storage.Sqlite;
using QueueCtl.Worker;

namespace QueueCtl.Tests;

/// <summary>The worker loop in this process, against a real queue file and real shell commands.</summary>
public abstract class WorkerHostFacts : DriverFacts
{
    protected WorkerHostFacts(DriverKind kind) : base(kind, TimeProvider.System)
    {
    }

    private readonly ListLog _log = new();

    private IJobStore Jobs => Queue.Jobs;

    private (WorkerHost Host, Task Run, CancellationTokenSource Stop, CancellationTokenSource Kill) StartWorker(int concurrency = 1,
        bool exitWhenEmpty = false, string? id = null, TimeSpan? heartbeat = null)
    {
        var host = new WorkerHost(Queue.Open(), new WorkerOptions
        {
            WorkerId = id ?? WorkerOptions.NewWorkerId(), Concurrency = concurrency, ExitWhenEmpty = exitWhenEmpty, HeartbeatInterval = heartbeat,
        }, new JobRunners(), _log);
        var stop = new CancellationTokenSource();
        var kill = new CancellationTokenSource();
        return (host, Task.Run(() => host.RunAsync(stop.Token, kill.Token)), stop, kill);
    }

    private async Task WaitForState(string id, QueueJobState state, int seconds = 20) =>
        await ShellCommandRunnerFacts.WaitUntil(() => Jobs.Get(id).State == state, seconds);

    [SkippableFact]
    public async Task Drains_TheQueue_WithConcurrency_AndExitsWhenEmpty()
    {
        Jobs.Enqueue(Enumerable.Range(0, 20).Select(i => new JobSpec { Id = $"j{i}", Command = $"echo {i}" }).ToList());
        var worker = StartWorker(concurrency: 3, exitWhenEmpty: true);
        await worker.Run.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(20, Jobs.Status().Completed);
        Assert.Equal(20, worker.Host.JobsDone);
        Assert.Equal("7\n", Queue.Db.Outputs.Get("j7").Single().Output.StandardOutput);
        var registered = Queue.Db.Workers.List().Single();
        Assert.Equal(QueueWorkerState.Stopped, registered.State);
        Assert.Equal(20, registered.JobsDone);
    }

    [SkippableFact]
    public async Task FailingJob_IsRetried_ThenMovedToTheDeadLetterQueue()
    {
        Queue.Db.Settings.Set("backoff-max", "0");
        Jobs.Enqueue(new JobSpec { Id = "bad", Command = "echo nope >&2; exit 4", MaxRetries = 2 });
        var worker = StartWorker(exitWhenEmpty: true);
        await worker.Run.WaitAsync(TimeSpan.FromSeconds(60));
        var job = Jobs.Get("bad");
        Assert.Equal(QueueJobState.Dead, job.State);
        Assert.Equal(3, job.Attempts);
        Assert.Equal(4, job.ExitCode);
        Assert.Equal("Exited with code 4: nope", job.LastError);
        Assert.Equal(3, Queue.Db.Outputs.Get("bad").Count);
    }

    [SkippableFact]
    public async Task AnIdleWorker_IsWokenByAnEnqueue_NotByItsPoll()
    {
        // Neither the poll (60 s) nor the heartbeat (every 5 s) can explain a pickup within two seconds.
        Queue.Db.Settings.Set("poll-interval", "60");
        Queue.Db.Settings.Set("lease-duration", "600");
        var worker = StartWorker();
        await ShellCommandRunnerFacts.WaitUntil(() => Queue.Db.Workers.List().Any(w => w.State == QueueWorkerState.Running));
        await Task.Delay(300); // let it settle into its idle wait
        Jobs.Enqueue(new JobSpec { Id = "wake", Command = "true" });
        await WaitForState("wake", QueueJobState.Completed, seconds: 2);
        worker.Stop.Cancel();
        await worker.Run.WaitAsync(TimeSpan.FromSeconds(30));
    }

    [SkippableFact]
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

    [SkippableFact]
    public async Task StopRequestedThroughTheQueue_StopsTheWorker()
    {
        var worker = StartWorker(id: "remote-stop");
        await ShellCommandRunnerFacts.WaitUntil(() => Queue.Db.Workers.List().Any(w => w.State == QueueWorkerState.Running));
        Assert.True(Queue.Db.Workers.RequestStop("remote-stop"));
        await worker.Run.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(QueueWorkerState.Stopped, Queue.Db.Workers.List().Single().State);
    }

    [SkippableFact]
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

    [SkippableFact]
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

    [SkippableFact]
    public async Task AWorkerWhoseProcessIsGone_HasItsJobsRecoveredAtOnce()
    {
        Jobs.Enqueue(new JobSpec { Id = "orphan", Command = "true", MaxRetries = 1 });
        var registry = Queue.Db.Workers;
        registry.Register("ghost", QueueWorkerState.Running, processId: int.MaxValue - 7, processStartedAt: null, concurrency: 1, logPath: null, version: null);
        Queue.Db.Leases("ghost").Claim(1);
        Queue.Db.Settings.Set("backoff-max", "0");

        var worker = StartWorker(exitWhenEmpty: true);
        await worker.Run.WaitAsync(TimeSpan.FromSeconds(30));
        var job = Jobs.Get("orphan");
        Assert.Equal(QueueJobState.Completed, job.State);
        Assert.Equal(2, job.Attempts);
        Assert.Contains("ghost", job.Errors.Single().Error);
        Assert.Equal(QueueWorkerState.Lost, registry.List().Single(w => w.Id == "ghost").State);
    }

    [SkippableFact]
    public async Task ARunningWorker_NoticesAWorkerDie_KillsItsOrphanedJobProcess_AndRunsTheJobAgain()
    {
        if (OperatingSystem.IsWindows()) return;
        Queue.Db.Settings.Set("backoff-max", "0");

        // A worker that died mid-job: registered with a pid that no longer exists, holding a claimed job whose
        // process (a real one) is still running.
        using var orphan = System.Diagnostics.Process.Start("sleep", "30");
        WorkerFiles.EnsureFolder(Queue.Db.LocalPath);
        var ghostFiles = new Execution.RunningProcesses(WorkerFiles.RunningPath(Queue.Db.LocalPath, "ghost"));
        ghostFiles.Add(orphan.Id, orphan.StartTime.ToUniversalTime());
        Jobs.Enqueue(new JobSpec { Id = "orphaned", Command = "true" });
        var registry = Queue.Db.Workers;
        registry.Register("ghost", QueueWorkerState.Running, processId: int.MaxValue - 7, processStartedAt: null, concurrency: 1, logPath: null, version: null);
        Assert.Equal("orphaned", Queue.Open().Leases("ghost").Claim(1).Single().Job.Id);

        var worker = StartWorker(heartbeat: TimeSpan.FromMilliseconds(100));
        await WaitForState("orphaned", QueueJobState.Completed, seconds: 10);
        Assert.True(orphan.WaitForExit(5000), "the orphaned job process should have been killed: " + string.Join(" | ", _log.Lines));
        Assert.Equal(2, Jobs.Get("orphaned").Attempts);
        Assert.False(File.Exists(WorkerFiles.RunningPath(Queue.Db.LocalPath, "ghost")));
        worker.Stop.Cancel();
        await worker.Run.WaitAsync(TimeSpan.FromSeconds(30));
    }

    private sealed class ListLog : IWorkerLog
    {
        public ConcurrentQueue<string> Lines { get; } = new();
        public void Write(WorkerLogLevel level, string message) => Lines.Enqueue($"{level}: {message}");
    }
}

public sealed class SqliteWorkerHostFacts() : WorkerHostFacts(DriverKind.Sqlite);

public sealed class PostgresWorkerHostFacts() : WorkerHostFacts(DriverKind.Postgres);
