using QueueCtl.Jobs;
using QueueCtl.Storage;
using QueueCtl.Storage.Sqlite;

namespace QueueCtl.Tests;

public abstract class LeaseStoreFacts : DriverFacts
{
    protected LeaseStoreFacts(DriverKind kind) : base(kind)
    {
    }

    private ILeaseStore? _first;
    private ILeaseStore? _second;

    private ILeaseStore _w1 => _first ??= Queue.Db.Leases("w1");
    private ILeaseStore _w2 => _second ??= Queue.Open().Leases("w2");

    private ManualClock Clock => Queue.Manual;
    private IJobStore Jobs => Queue.Jobs;

    [SkippableFact]
    public void Claim_TakesDueJobsOldestFirst_AndMarksThemProcessing()
    {
        Jobs.Enqueue(new[] { "a", "b", "c" }.Select(id => new JobSpec { Id = id, Command = "true" }).ToList());
        var claimed = _w1.Claim(2);
        Assert.Equal(new[] { "a", "b" }, claimed.Select(c => c.Job.Id));
        var a = Jobs.Get("a");
        Assert.Equal(QueueJobState.Processing, a.State);
        Assert.Equal(1, a.Attempts);
        Assert.Equal("w1", a.WorkerId);
        Assert.Equal(Clock.UtcNow, a.StartedAt);
        Assert.Equal(new[] { "c" }, _w2.Claim(5).Select(c => c.Job.Id));
        Assert.Empty(_w1.Claim(5));
    }

    [SkippableFact]
    public void Claim_LeavesJobsThatAreNotDueYet()
    {
        Jobs.Enqueue(new JobSpec { Id = "later", Command = "true", RunAt = Clock.UtcNow.AddMinutes(1) });
        var cycle = _w1.FinishAndClaim(Array.Empty<FinishedRun>(), 1);
        Assert.Empty(cycle.Claimed);
        Assert.Equal(TimeSpan.FromMinutes(1), cycle.NextDueIn);
        Clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Single(_w1.Claim(1));
    }

    [SkippableFact]
    public void FailingJob_IsRetriedWithExponentialBackoff_ThenDead_WithItsLastErrorAndExitCode()
    {
        Jobs.Enqueue(new JobSpec { Id = "flaky", Command = "exit 7", MaxRetries = 2 });
        var expectedDelays = new[] { 2, 4 };
        for (var attempt = 1; attempt <= 3; attempt++)
        {
            var claim = Assert.Single(_w1.Claim(1));
            Assert.Equal(attempt, claim.Job.Attempts);
            Assert.True(_w1.FinishRun(new FinishedRun(claim, RunOutcome.Failure($"Exited with code 7 (run {attempt}).", 7))));
            var job = Jobs.Get("flaky");
            if (attempt == 3)
            {
                Assert.Equal(QueueJobState.Dead, job.State);
                Assert.Equal(7, job.ExitCode);
                Assert.Equal("Exited with code 7 (run 3).", job.LastError);
                Assert.Equal(3, job.Errors.Count);
                Assert.Equal(new[] { 1, 2, 3 }, job.Errors.Select(e => e.Attempt));
                break;
            }
            Assert.Equal(QueueJobState.Failed, job.State);
            var delay = TimeSpan.FromSeconds(expectedDelays[attempt - 1]);
            Assert.Equal(Clock.UtcNow + delay, job.RunAt);
            Clock.Advance(delay - TimeSpan.FromMilliseconds(1));
            Assert.Empty(_w1.Claim(1));
            Clock.Advance(TimeSpan.FromMilliseconds(1));
        }
        Assert.Equal(1, Jobs.Status().Dead);
    }

    [SkippableFact]
    public void Finish_StoresTheRunsOutput()
    {
        Jobs.Enqueue(new JobSpec { Id = "o", Command = "echo hi" });
        var claim = _w1.Claim(1).Single();
        var output = new CapturedOutput(OutputFormat.Text, "hi\n", "", 0, 0);
        Assert.True(_w1.FinishRun(new FinishedRun(claim, RunOutcome.Success(0, output))));
        var job = Jobs.Get("o");
        Assert.Equal(QueueJobState.Completed, job.State);
        Assert.Equal(0, job.ExitCode);
        Assert.NotNull(job.FinishedAt);
        var runs = Queue.Db.Outputs.Get("o");
        Assert.Equal("hi\n", Assert.Single(runs).Output.StandardOutput);
    }

    [SkippableFact]
    public void OnlyTheHolderOfTheCurrentRun_CanFinishIt()
    {
        Jobs.Enqueue(new JobSpec { Id = "j", Command = "true" });
        var claim = _w1.Claim(1).Single();
        var forged = claim with { Job = new QueueJob { Id = "j", Command = "true", WorkerId = "w2", Runs = claim.Run, Attempts = 1 } };
        Assert.False(_w2.FinishRun(new FinishedRun(forged, RunOutcome.Success())));
        var stale = claim with { Job = new QueueJob { Id = "j", Command = "true", WorkerId = "w1", Runs = claim.Run - 1, Attempts = 1 } };
        Assert.False(_w1.FinishRun(new FinishedRun(stale, RunOutcome.Success())));
        Assert.Equal(QueueJobState.Processing, Jobs.Get("j").State);
        Assert.True(_w1.FinishRun(new FinishedRun(claim, RunOutcome.Success())));
        Assert.False(_w1.FinishRun(new FinishedRun(claim, RunOutcome.Failure("again"))));
        Assert.Equal(QueueJobState.Completed, Jobs.Get("j").State);
    }

    [SkippableFact]
    public void ExpiredLease_IsRecovered_AsAFailedAttempt_AndTheOldHolderCanNoLongerFinish()
    {
        Jobs.Enqueue(new JobSpec { Id = "lost", Command = "sleep 100", MaxRetries = 1 });
        var claim = _w1.Claim(1).Single();
        Clock.Advance(Queue.Db.Config.LeaseDuration - TimeSpan.FromSeconds(1));
        Assert.Empty(_w2.RecoverExpired());
        Clock.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(new[] { "lost" }, _w2.RecoverExpired());

        var job = Jobs.Get("lost");
        Assert.Equal(QueueJobState.Failed, job.State);
        Assert.Contains("w1", job.LastError);
        Assert.Contains("lost", job.LastError);
        Assert.False(_w1.FinishRun(new FinishedRun(claim, RunOutcome.Success())));
        Assert.DoesNotContain(_w1.Renew(new[] { claim }), r => r.Kept);

        Clock.Advance(TimeSpan.FromSeconds(2));
        var second = _w2.Claim(1).Single();
        Assert.Equal(2, second.Job.Attempts);
        Assert.True(_w2.FinishRun(new FinishedRun(second, RunOutcome.Success())));
        Assert.Equal(QueueJobState.Completed, Jobs.Get("lost").State);
    }

    [SkippableFact]
    public void Renew_ExtendsTheLease_SoTheJobIsNotRecovered()
    {
        Jobs.Enqueue(new JobSpec { Id = "long", Command = "sleep 100" });
        var claim = _w1.Claim(1).Single();
        for (var i = 0; i < 5; i++)
        {
            Clock.Advance(TimeSpan.FromSeconds(20));
            Assert.True(_w1.Renew(new[] { claim }).Single().Kept);
            Assert.Empty(_w2.RecoverExpired());
        }
        Assert.Equal(QueueJobState.Processing, Jobs.Get("long").State);
    }

    [SkippableFact]
    public void Renew_ReportsACancelRequest_AndALostLease()
    {
        Jobs.Enqueue(new[] { new JobSpec { Id = "c", Command = "sleep 9" }, new JobSpec { Id = "r", Command = "sleep 9" } });
        var claims = _w1.Claim(2);
        Jobs.Cancel("c");
        Jobs.Remove("r", force: true);
        var renewals = _w1.Renew(claims).ToDictionary(r => r.Claim.Job.Id);
        Assert.True(renewals["c"].Kept);
        Assert.True(renewals["c"].CancelRequested);
        Assert.False(renewals["r"].Kept);
        Assert.Equal(new[] { claims.Single(c => c.Job.Id == "c").Seq }, _w1.CancelRequests());
    }

    [SkippableFact]
    public void CancelledRun_IsFinal_AndNotRetried()
    {
        Jobs.Enqueue(new JobSpec { Id = "c", Command = "sleep 9", MaxRetries = 5 });
        var claim = _w1.Claim(1).Single();
        Jobs.Cancel("c");
        Assert.True(_w1.FinishRun(new FinishedRun(claim, RunOutcome.Cancel("Cancelled by Stop-QueueJob."))));
        var job = Jobs.Get("c");
        Assert.Equal(QueueJobState.Cancelled, job.State);
        Assert.False(job.CancelRequested);
        Clock.Advance(TimeSpan.FromHours(1));
        Assert.Empty(_w1.Claim(1));
    }

    [SkippableFact]
    public void ExpireLeasesOf_ADeadWorker_LetsItsJobsBeRecoveredAtOnce()
    {
        Jobs.Enqueue(new JobSpec { Id = "k", Command = "sleep 9" });
        _w1.Claim(1);
        Assert.Empty(_w2.RecoverExpired());
        Assert.Equal(1, _w2.ExpireLeasesOf("w1"));
        Assert.Equal(new[] { "k" }, _w2.RecoverExpired());
    }
}

public sealed class SqliteLeaseStoreFacts() : LeaseStoreFacts(DriverKind.Sqlite);

public sealed class PostgresLeaseStoreFacts() : LeaseStoreFacts(DriverKind.Postgres);
