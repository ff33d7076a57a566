using System.Collections.Concurrent;
using QueueCtl.Jobs;
using QueueCtl.Storage;
using QueueCtl.Storage.Postgres;

namespace QueueCtl.Postgres.Tests;

public sealed class LeaseFacts : IDisposable
{
    private readonly PgQueues _queues = new();

    public void Dispose() => _queues.Dispose();

    [Fact]
    public async Task Eight_workers_with_their_own_drivers_claim_every_job_exactly_once()
    {
        if (!PgQueues.Ready()) return;
        const int jobs = 2000, workers = 8;
        using (var db = _queues.Open())
            db.Jobs.Enqueue(Enumerable.Range(0, jobs).Select(i => new JobSpec { Id = $"j{i}", Command = "echo" }).ToList());
        var claimed = new ConcurrentBag<(string Worker, long Seq)>();
        using var start = new Barrier(workers);
        var tasks = Enumerable.Range(0, workers).Select(w => Task.Factory.StartNew(() =>
        {
            using var db = _queues.Open();
            var leases = db.Leases($"w{w}");
            start.SignalAndWait();
            var held = new List<ClaimedJob>();
            while (true)
            {
                var cycle = leases.FinishAndClaim(held.Select(c => new FinishedRun(c, RunOutcome.Success())).ToList(), 7);
                Assert.All(cycle.FinishAccepted, Assert.True);
                foreach (var c in cycle.Claimed) claimed.Add(($"w{w}", c.Seq));
                held = cycle.Claimed.ToList();
                if (held.Count == 0) break;
            }
        }, TaskCreationOptions.LongRunning)).ToArray();
        await Task.WhenAll(tasks);

        Assert.Equal(jobs, claimed.Count);
        Assert.Equal(jobs, claimed.Select(c => c.Seq).Distinct().Count());
        Assert.True(claimed.Select(c => c.Worker).Distinct().Count() > 1, "the claims were not spread over the workers");
        using var check = _queues.Open();
        var status = check.Jobs.Status();
        Assert.Equal(jobs, status.Completed);
        Assert.Equal(0, status.Pending + status.Processing);
    }

    [Fact]
    public void A_finish_with_a_stale_run_or_worker_is_refused()
    {
        if (!PgQueues.Ready()) return;
        using var db = _queues.Open();
        db.Jobs.Enqueue(new JobSpec { Id = "f", Command = "echo" });
        var claim = Assert.Single(db.Leases("w1").Claim(1));
        var otherWorker = claim with { Job = new QueueJob { Id = claim.Job.Id, Command = claim.Job.Command, Runs = claim.Run, WorkerId = "w2" } };
        var staleRun = claim with { Job = new QueueJob { Id = claim.Job.Id, Command = claim.Job.Command, Runs = claim.Run - 1, WorkerId = "w1" } };
        Assert.False(db.Leases("w2").FinishRun(new FinishedRun(otherWorker, RunOutcome.Success())));
        Assert.False(db.Leases("w1").FinishRun(new FinishedRun(staleRun, RunOutcome.Success())));
        Assert.Equal(QueueJobState.Processing, db.Jobs.Get("f").State);
        Assert.True(db.Leases("w1").FinishRun(new FinishedRun(claim, RunOutcome.Success())));
        Assert.False(db.Leases("w1").FinishRun(new FinishedRun(claim, RunOutcome.Success()))); // once only
        Assert.Equal(QueueJobState.Completed, db.Jobs.Get("f").State);
    }

    [Fact]
    public void Leases_are_renewed_and_expired_ones_recovered_once_by_the_stamping_clock()
    {
        if (!PgQueues.Ready()) return;
        var clock = new ManualClock();
        using var db = _queues.Open(clock);
        using var rescuerDb = _queues.Open(clock);
        var lease = db.Config.LeaseDuration;
        db.Jobs.Enqueue(new JobSpec { Id = "r", Command = "sleep 100", MaxRetries = 3 });
        var owner = db.Leases("owner");
        var claim = Assert.Single(owner.Claim(1));
        Assert.Equal(clock.UtcNow + lease, claim.LeaseUntil);

        clock.Advance(lease / 2);
        var renewed = Assert.Single(owner.Renew(new[] { claim }));
        Assert.True(renewed.Kept);
        Assert.Equal(clock.UtcNow + lease, renewed.LeaseUntil);

        clock.Advance(lease - TimeSpan.FromMilliseconds(1));
        Assert.Empty(rescuerDb.Leases("rescuer").RecoverExpired()); // not expired yet by the store's clock

        clock.Advance(TimeSpan.FromSeconds(1));
        var stopped = new List<string>();
        var recovered = rescuerDb.Leases("rescuer").RecoverExpired(stopOwners: owners => { stopped.AddRange(owners); return Array.Empty<string>(); });
        Assert.Equal(new[] { "r" }, recovered);
        Assert.Equal(new[] { "owner" }, stopped);
        Assert.Empty(rescuerDb.Leases("rescuer2").RecoverExpired());

        var job = db.Jobs.Get("r");
        Assert.Equal(QueueJobState.Failed, job.State);
        Assert.Equal(clock.UtcNow + TimeSpan.FromSeconds(2), job.RunAt); // backoff-base 2 ^ attempt 1
        Assert.Contains("Worker 'owner' was lost", Assert.Single(job.Errors).Error);
        Assert.False(Assert.Single(owner.Renew(new[] { claim })).Kept);
        Assert.False(owner.FinishRun(new FinishedRun(claim, RunOutcome.Success())));
    }

    [Fact]
    public void Held_jobs_and_owners_left_alone_are_not_recovered()
    {
        if (!PgQueues.Ready()) return;
        var clock = new ManualClock();
        using var db = _queues.Open(clock);
        db.Jobs.Enqueue(new[] { new JobSpec { Id = "a", Command = "x" }, new JobSpec { Id = "b", Command = "x" } });
        var a = Assert.Single(db.Leases("wa").Claim(1));
        Assert.Single(db.Leases("wb").Claim(1));
        clock.Advance(db.Config.LeaseDuration + TimeSpan.FromSeconds(1));
        Assert.Empty(db.Leases("wa").RecoverExpired(held: new[] { a.Seq }, stopOwners: _ => new[] { "WB" }));
        Assert.Equal(1, db.Leases("wc").ExpireLeasesOf("wb"));
        Assert.Equal(new[] { "a", "b" }, db.Leases("wc").RecoverExpired().Order());
    }

    [Fact]
    public void A_failed_run_is_due_again_after_the_backoff_counted_from_the_stamping_clock()
    {
        if (!PgQueues.Ready()) return;
        var clock = new ManualClock();
        using var db = _queues.Open(clock);
        db.Settings.Set("backoff-base", "3");
        db.Jobs.Enqueue(new JobSpec { Id = "b", Command = "false", MaxRetries = 5 });
        var leases = db.Leases("w");
        var first = Assert.Single(leases.Claim(1));
        clock.Advance(TimeSpan.FromSeconds(10));
        var cycle = leases.FinishAndClaim(new[] { new FinishedRun(first, RunOutcome.Failure("no", 1)) }, 1);
        Assert.Empty(cycle.Claimed);
        Assert.Equal(TimeSpan.FromSeconds(3), cycle.NextDueIn);
        Assert.Equal(clock.UtcNow + TimeSpan.FromSeconds(3), db.Jobs.Get("b").RunAt);
        clock.Advance(TimeSpan.FromSeconds(3) - TimeSpan.FromMilliseconds(1));
        Assert.Empty(leases.Claim(1));
        clock.Advance(TimeSpan.FromMilliseconds(1));
        var second = Assert.Single(leases.Claim(1));
        Assert.Equal(2, second.Job.Attempts);
        Assert.Equal(clock.UtcNow, second.Job.StartedAt);
    }

    [Fact]
    public async Task Two_rescuers_at_once_never_both_take_a_job_and_neither_waits_for_the_other()
    {
        if (!PgQueues.Ready()) return;
        var clock = new ManualClock();
        using var db = _queues.Open(clock);
        using var other = _queues.Open(clock);
        other.BusyTimeout = TimeSpan.FromSeconds(2);
        db.Jobs.Enqueue(new JobSpec { Id = "lost", Command = "x" });
        Assert.Single(db.Leases("gone").Claim(1));
        clock.Advance(db.Config.LeaseDuration + TimeSpan.FromSeconds(1));

        using var inside = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var first = Task.Factory.StartNew(() => db.Leases("r1").RecoverExpired(stopOwners: owners =>
        {
            inside.Set(); // the expired job is locked by this transaction now
            release.Wait(TimeSpan.FromSeconds(30));
            return Array.Empty<string>();
        }), TaskCreationOptions.LongRunning);
        Assert.True(inside.Wait(TimeSpan.FromSeconds(10)));
        Assert.Empty(other.Leases("r2").RecoverExpired()); // skips the locked row at once
        release.Set();
        Assert.Equal(new[] { "lost" }, await first);
        Assert.Empty(other.Leases("r2").RecoverExpired());
        Assert.Single(db.Jobs.Get("lost").Errors);
    }

    [Fact]
    public void Without_a_stamping_clock_times_come_from_the_server_not_from_the_process_clock()
    {
        if (!PgQueues.Ready()) return;
        var processClock = new ManualClock(new DateTimeOffset(2000, 1, 1, 0, 0, 0, TimeSpan.Zero));
        using var db = PostgresDriver.Open(_queues.Address, new QueueOpenOptions { Clock = processClock });
        Assert.Same(processClock, db.Clock);
        var serverBefore = ServerNow();
        var job = db.Jobs.Enqueue(new JobSpec { Command = "echo" });
        var claim = Assert.Single(db.Leases("w").Claim(1));
        var serverAfter = ServerNow();
        Assert.InRange(job.CreatedAt, serverBefore, serverAfter);
        Assert.InRange(claim.Job.StartedAt!.Value, serverBefore, serverAfter);
        Assert.InRange(claim.LeaseUntil, serverBefore + db.Config.LeaseDuration, serverAfter + db.Config.LeaseDuration);
    }

    private static DateTime ServerNow() =>
        DateTimeOffset.FromUnixTimeMilliseconds(PgQueues.Scalar("SELECT (extract(epoch from clock_timestamp()) * 1000)::bigint")).UtcDateTime;

    [Fact]
    public void One_cycle_records_each_finish_on_its_own_merits()
    {
        if (!PgQueues.Ready()) return;
        using var db = _queues.Open();
        db.Workers.Register("w", QueueWorkerState.Running, 1, null, 4, null, null);
        db.Jobs.Enqueue(Enumerable.Range(0, 4).Select(i => new JobSpec { Id = $"c{i}", Command = "x", MaxRetries = 0 }).ToList());
        var leases = db.Leases("w");
        var c = leases.Claim(3);
        var stale = c[2] with { Job = new QueueJob { Id = c[2].Job.Id, Command = "x", Runs = c[2].Run + 1, WorkerId = "w" } };
        var cycle = leases.FinishAndClaim(new[]
        {
            new FinishedRun(c[0], RunOutcome.Success()),
            new FinishedRun(c[1], RunOutcome.Failure("bad", 3)),
            new FinishedRun(stale, RunOutcome.Success()),
            new FinishedRun(c[0], RunOutcome.Failure("again")), // listed twice: recorded once
        }, 5);
        Assert.Equal(new[] { true, true, false, false }, cycle.FinishAccepted);
        Assert.Equal(new[] { "c3" }, cycle.Claimed.Select(x => x.Job.Id));
        Assert.Null(cycle.NextDueIn);
        Assert.Equal(QueueJobState.Completed, db.Jobs.Get("c0").State);
        Assert.Empty(db.Jobs.Get("c0").Errors);
        Assert.Equal(QueueJobState.Dead, db.Jobs.Get("c1").State);
        Assert.Equal(3, db.Jobs.Get("c1").ExitCode);
        Assert.Equal(QueueJobState.Processing, db.Jobs.Get("c2").State);
        var worker = db.Workers.Find("w")!;
        Assert.Equal((1, 1), (worker.JobsDone, worker.JobsFailed));
    }
}
