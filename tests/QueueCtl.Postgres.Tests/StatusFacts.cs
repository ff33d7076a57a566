using System.Diagnostics;
using QueueCtl.Jobs;
using QueueCtl.Storage;
using QueueCtl.Storage.Postgres;
using Xunit.Abstractions;

namespace QueueCtl.Postgres.Tests;

public sealed class StatusFacts : IDisposable
{
    private readonly PgQueues _queues = new();
    private readonly ITestOutputHelper _output;

    public StatusFacts(ITestOutputHelper output) => _output = output;

    public void Dispose() => _queues.Dispose();

    [Fact]
    public void Counts_follow_every_transition_and_survive_folding()
    {
        if (!PgQueues.Ready()) return;
        var clock = new ManualClock();
        using var db = _queues.Open(clock);
        db.Jobs.Enqueue(Enumerable.Range(0, 10).Select(i => new JobSpec { Id = $"s{i}", Command = "echo", MaxRetries = 1 }).ToList());
        var leases = db.Leases("w");
        db.Workers.Register("w", QueueWorkerState.Running, Environment.ProcessId, null, 4, null, null);
        var claimed = leases.Claim(4);
        leases.FinishAndClaim(new[]
        {
            new FinishedRun(claimed[0], RunOutcome.Success()),
            new FinishedRun(claimed[1], RunOutcome.Failure("x")),
            new FinishedRun(claimed[2], RunOutcome.Cancel("stop")),
        }, 0);
        db.Jobs.Cancel("s8");
        db.Jobs.Cancel("s9");
        db.Jobs.Remove("s7");

        void Expect()
        {
            var status = db.Jobs.Status();
            Assert.Equal((3, 1, 1, 1, 0, 3), (status.Pending, status.Processing, status.Completed, status.Failed, status.Dead, status.Cancelled));
            Assert.Equal(1, status.Workers);
            Assert.Equal(TimeSpan.Zero, status.OldestPendingAge);
            Assert.Equal(9, PgQueues.Scalar($"SELECT count(*) FROM \"{_queues.Schema}\".jobs"));
        }
        Expect();
        Assert.True(db.Jobs.HasUnfinishedJobs());
        ((PostgresDriver)db).Counts.Compact();
        Assert.Equal(6, PgQueues.Scalar($"SELECT count(*) FROM \"{_queues.Schema}\".job_count_deltas"));
        Expect();
        clock.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(TimeSpan.FromMinutes(5), db.Jobs.Status().OldestPendingAge);
        Assert.Equal(0, db.Jobs.Status().Workers); // its heartbeat is older than the lease by the store's clock
    }

    [Fact]
    public void Status_stays_fast_at_a_million_jobs()
    {
        if (!PgQueues.Ready()) return;
        using var db = _queues.Open();
        var insert = Stopwatch.StartNew();
        PgQueues.Execute(
            $"INSERT INTO \"{_queues.Schema}\".jobs (id, command, max_retries, run_at, created_at, updated_at) " +
            "SELECT 'm' || g, 'echo', 3, 0, 0, 0 FROM generate_series(1, 1000000) AS g");
        // The oldest quarter is finished, so the oldest pending job and the claim's first candidates sit deep in the table.
        PgQueues.Execute($"UPDATE \"{_queues.Schema}\".jobs SET state = 'Cancelled', finished_at = 1 WHERE seq <= 250000");
        PgQueues.Execute($"ANALYZE \"{_queues.Schema}\".jobs");
        _output.WriteLine($"1M rows inserted and a quarter cancelled in {insert.ElapsedMilliseconds} ms");
        var first = Stopwatch.StartNew();
        var status = db.Jobs.Status();
        first.Stop();
        var times = new List<double>();
        for (var i = 0; i < 10; i++)
        {
            var sw = Stopwatch.StartNew();
            db.Jobs.Status();
            times.Add(sw.Elapsed.TotalMilliseconds);
        }
        _output.WriteLine($"Status() at 1M jobs: first {first.Elapsed.TotalMilliseconds:0.0} ms, then median {times.Order().ElementAt(5):0.0} ms, max {times.Max():0.0} ms");
        var claim = Stopwatch.StartNew();
        var claimed = db.Leases("w").Claim(10);
        claim.Stop();
        _output.WriteLine($"Claim(10) at 1M jobs: {claim.Elapsed.TotalMilliseconds:0.0} ms");
        Assert.Equal(10, claimed.Count);
        Assert.Equal(750_000, status.Pending);
        Assert.Equal(250_000, status.Cancelled);
        Assert.True(times.Order().ElementAt(5) < 1000, "Status() took more than a second at 1M jobs");
    }

    [Fact]
    public void Enqueue_throughput_in_batches_of_a_thousand()
    {
        if (!PgQueues.Ready()) return;
        using var db = _queues.Open();
        db.Jobs.Enqueue(Enumerable.Range(0, 1000).Select(i => new JobSpec { Command = "warm up" }).ToList());
        const int batches = 30;
        var specs = Enumerable.Range(0, batches).Select(b => Enumerable.Range(0, 1000).Select(i => new JobSpec { Command = $"echo {b} {i}" }).ToList()).ToList();
        var sw = Stopwatch.StartNew();
        foreach (var batch in specs) Assert.All(db.Jobs.Enqueue(batch), r => Assert.NotNull(r.Job));
        sw.Stop();
        var perSecond = batches * 1000 / sw.Elapsed.TotalSeconds;
        _output.WriteLine($"Enqueue: {batches * 1000} jobs in batches of 1,000 took {sw.ElapsedMilliseconds} ms: {perSecond:0} jobs/s");
        Assert.Equal(batches * 1000 + 1000, db.Jobs.Status().Pending);
    }
}
