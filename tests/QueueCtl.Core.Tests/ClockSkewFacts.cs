using System.Collections.Concurrent;
using QueueCtl.Jobs;
using QueueCtl.Storage;
using QueueCtl.Storage.Postgres;
using QueueCtl.Worker;

namespace QueueCtl.Tests;

/// <summary>
/// Workers on hosts whose clocks disagree by minutes share one PostgreSQL queue: every time the store stamps or
/// compares (claims, leases, due times, recovery) is the server's, so the skew changes nothing. (On SQLite, one file
/// on one machine, there is one clock.)
/// </summary>
public sealed class ClockSkewFacts() : DriverFacts(DriverKind.Postgres, TimeProvider.System)
{
    private readonly ConcurrentQueue<string> _log = new();
    private readonly List<(Task Run, CancellationTokenSource Stop)> _workers = new();

    private (WorkerHost Host, Task Run) StartWorker(string id, TimeSpan skew)
    {
        var db = PostgresDriver.Open(Queue.Path_, new QueueOpenOptions { Clock = new SkewedClock(skew) }, stampClock: null);
        var host = new WorkerHost(db, new WorkerOptions { WorkerId = id, Concurrency = 2, HeartbeatInterval = TimeSpan.FromMilliseconds(100) },
            new JobRunners(), new Log(_log));
        var stop = new CancellationTokenSource();
        var run = Task.Run(() => host.RunAsync(stop.Token));
        _workers.Add((run, stop));
        return (host, run);
    }

    [SkippableFact]
    public async Task WorkersWhoseClocksDisagreeByMinutes_NeitherDelayNorRecoverEachOthersJobs()
    {
        Queue.Db.Settings.Set("lease-duration", "2");
        // Enqueued through a client 10 minutes ahead: due now by the server, not in 10 minutes.
        using var ahead = PostgresDriver.Open(Queue.Path_, new QueueOpenOptions { Clock = new SkewedClock(TimeSpan.FromMinutes(10)) }, stampClock: null);
        ahead.Jobs.Enqueue(Enumerable.Range(0, 6).Select(i => new JobSpec { Id = $"long{i}", Command = "sleep 3" }).ToList());

        // A worker 10 minutes behind claims them: had its lease times been its own, they would have expired 10 minutes
        // ago for a worker 10 minutes ahead, whose rescuer would then take the jobs mid-run.
        StartWorker("behind", TimeSpan.FromMinutes(-10));
        await ShellCommandRunnerFacts.WaitUntil(() => Queue.Jobs.Status().Processing == 2, 20);
        StartWorker("ahead", TimeSpan.FromMinutes(10));

        await ShellCommandRunnerFacts.WaitUntil(() => Queue.Jobs.Status().Completed == 6, 60);
        var jobs = Queue.Jobs.List().ToList();
        Assert.All(jobs, j => Assert.Equal(1, j.Runs));
        Assert.All(jobs, j => Assert.Empty(j.Errors));
        Assert.DoesNotContain(_log, line => line.Contains("recovered", StringComparison.OrdinalIgnoreCase));
        Assert.Contains(jobs, j => j.WorkerId == "behind");
    }

    public override void Dispose()
    {
        foreach (var (_, stop) in _workers) stop.Cancel();
        foreach (var (run, _) in _workers) run.Wait(TimeSpan.FromSeconds(30));
        base.Dispose();
    }

    private sealed class SkewedClock(TimeSpan skew) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => TimeProvider.System.GetUtcNow() + skew;
    }

    private sealed class Log(ConcurrentQueue<string> lines) : IWorkerLog
    {
        public void Write(WorkerLogLevel level, string message) => lines.Enqueue($"{level}: {message}");
    }
}
