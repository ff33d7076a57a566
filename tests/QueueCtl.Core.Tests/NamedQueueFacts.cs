using QueueCtl.Jobs;
using QueueCtl.Storage;

namespace QueueCtl.Tests;

/// <summary>Named queues and priorities: what is claimed, in which order, by which worker, on every driver.</summary>
public abstract class NamedQueueFacts : DriverFacts
{
    protected NamedQueueFacts(DriverKind kind) : base(kind)
    {
    }

    private ManualClock Clock => Queue.Manual;
    private IJobStore Jobs => Queue.Jobs;

    private void Add(string id, string? queue = null, int priority = 0, DateTime? runAt = null) =>
        Jobs.Enqueue(new JobSpec { Id = id, Command = "true", Queue = queue, Priority = priority, RunAt = runAt });

    [SkippableFact]
    public void Claim_TakesTheHighestPriorityFirst_ThenTheEarliestDue_ThenTheOldest()
    {
        Add("low", priority: -5);
        Add("plain");
        Add("high-1", priority: 7);
        Add("mid", priority: 3);
        Add("high-2", priority: 7);
        Add("high-early", priority: 7, runAt: Clock.UtcNow.AddSeconds(-30));
        // One at a time: each claim must pick the right job from the store, not just be sorted once claimed.
        var leases = Queue.Db.Leases("w");
        var order = Enumerable.Range(0, 6).Select(_ => Assert.Single(leases.Claim(1)).Job.Id).ToList();
        Assert.Equal(new[] { "high-early", "high-1", "high-2", "mid", "plain", "low" }, order);
    }

    [SkippableFact]
    public void ARetriedJob_KeepsItsPriority_AndRunsBeforeNewerJobsOfThatPriority()
    {
        Jobs.Enqueue(new JobSpec { Id = "flaky", Command = "exit 1", Priority = 4, MaxRetries = 1 });
        var leases = Queue.Db.Leases("w");
        var claim = Assert.Single(leases.Claim(1));
        Assert.True(leases.FinishRun(new FinishedRun(claim, RunOutcome.Failure("Exited with code 1.", 1))));
        Clock.Advance(TimeSpan.FromSeconds(3)); // the retry (due 2 s after the failure) is due before the newer jobs
        for (var i = 0; i < 5; i++) Add($"new-{i}", priority: 4);
        Add("urgent", priority: 5);
        var retried = Jobs.Get("flaky");
        Assert.Equal(4, retried.Priority);
        Assert.Equal(new[] { "urgent", "flaky", "new-0" }, leases.Claim(3).Select(c => c.Job.Id));
    }

    [SkippableFact]
    public void AWorkerOfSomeQueues_TakesOnlyTheirJobs_InTheClaimOrderAcrossThem()
    {
        Add("d1");
        Add("r1", "reports");
        Add("u1", "Urgent", priority: 9);
        Add("r2", "reports", priority: 2);
        Add("x1", "other", priority: 50);
        var some = Queue.Db.Leases("some", new[] { "REPORTS", "urgent" });
        Assert.Equal(new[] { "u1", "r2" }, some.Claim(2).Select(c => c.Job.Id));
        Assert.Equal(new[] { "r1" }, some.Claim(10).Select(c => c.Job.Id));
        var one = Queue.Open().Leases("one", new[] { "default" });
        Assert.Equal(new[] { "d1" }, one.Claim(10).Select(c => c.Job.Id));
        Assert.Equal(new[] { "x1" }, Queue.Db.Leases("all").Claim(10).Select(c => c.Job.Id));
    }

    [SkippableFact]
    public void AWorkerOfSomeQueues_TakesItsShareAsTheOtherQueuesFill()
    {
        Jobs.Enqueue(Enumerable.Range(0, 300).Select(i => new JobSpec { Id = $"bulk-{i}", Command = "true", Queue = "bulk", Priority = 9 }).ToList());
        Add("mine-1", "mine");
        Add("mine-2", "mine");
        var mine = Queue.Db.Leases("mine", new[] { "mine", "spare" });
        Assert.Equal(new[] { "mine-1", "mine-2" }, mine.Claim(5).Select(c => c.Job.Id));
    }

    [SkippableFact]
    public void NextDue_CountsOnlyTheWorkersQueues()
    {
        Add("now", "default");
        Add("later", "reports", runAt: Clock.UtcNow.AddMinutes(2));
        var reports = Queue.Db.Leases("r", new[] { "reports" });
        var cycle = reports.FinishAndClaim(Array.Empty<FinishedRun>(), 1);
        Assert.Empty(cycle.Claimed);
        Assert.Equal(TimeSpan.FromMinutes(2), cycle.NextDueIn);
    }

    [SkippableFact]
    public void Enqueue_RefusesABadQueueNameOrPriority_OnItsOwn_AndStoresTheRest()
    {
        var results = Jobs.Enqueue(new[]
        {
            new JobSpec { Id = "good", Command = "true", Queue = " Reports ", Priority = 100 },
            new JobSpec { Id = "spaced", Command = "true", Queue = "two words" },
            new JobSpec { Id = "empty", Command = "true", Queue = "" },
            new JobSpec { Id = "long", Command = "true", Queue = new string('q', QueueNames.MaxLength + 1) },
            new JobSpec { Id = "too-high", Command = "true", Priority = 101 },
            new JobSpec { Id = "too-low", Command = "true", Priority = -101 },
        });
        Assert.Equal("reports", results[0].Job!.Queue);
        Assert.Equal(QueueErrorCode.InvalidQueueName, results[1].Error!.Code);
        Assert.Equal(QueueErrorCode.InvalidQueueName, results[2].Error!.Code);
        Assert.Equal(QueueErrorCode.InvalidQueueName, results[3].Error!.Code);
        Assert.Equal(QueueErrorCode.InvalidJobSpec, results[4].Error!.Code);
        Assert.Equal(QueueErrorCode.InvalidJobSpec, results[5].Error!.Code);
        var stored = Assert.Single(Jobs.List());
        Assert.Equal(("good", "reports", 100), (stored.Id, stored.Queue, stored.Priority));
    }

    [SkippableFact]
    public void ListAndUnfinished_ByQueue_AndTheQueuesWithWaitingJobs()
    {
        Add("d1");
        Add("r1", "reports");
        Add("r2", "reports");
        Add("z1", "zeta");
        Assert.Equal(new[] { "r1", "r2" }, Jobs.List(queues: new[] { "Reports" }).Select(j => j.Id));
        Assert.Equal(new[] { "d1", "z1" }, Jobs.List(queues: new[] { "zeta", "default" }).Select(j => j.Id));
        Assert.Equal(new[] { "default", "reports", "zeta" }, Jobs.WaitingQueues());
        var leases = Queue.Db.Leases("w", new[] { "zeta" });
        var claim = Assert.Single(leases.Claim(1));
        Assert.True(Jobs.HasUnfinishedJobs(new[] { "zeta" })); // Processing still counts
        Assert.Equal(new[] { "default", "reports" }, Jobs.WaitingQueues());
        Assert.True(leases.FinishRun(new FinishedRun(claim, RunOutcome.Success())));
        Assert.False(Jobs.HasUnfinishedJobs(new[] { "zeta" }));
        Assert.False(Jobs.HasUnfinishedJobs(new[] { "nothing-here" }));
        Assert.True(Jobs.HasUnfinishedJobs());
        Assert.Throws<QueueException>(() => Jobs.List(queues: new[] { "bad name" }).ToList());
    }

    [SkippableFact]
    public void APausedQueue_IsNotClaimedFrom_ByAnyWorker_UntilResumed_AndOtherQueuesGoOn()
    {
        Add("r1", "reports", priority: 9);
        Add("d1");
        var paused = Queue.Db.Queues.SetPaused("Reports", true);
        Assert.Equal(("reports", true), (paused.Name, paused.IsPaused));
        Assert.True(Queue.Open().Queues.Get("REPORTS").IsPaused);
        var all = Queue.Db.Leases("all");
        var some = Queue.Open().Leases("some", new[] { "reports" });
        Assert.Equal(new[] { "d1" }, all.Claim(5).Select(c => c.Job.Id));
        var cycle = some.FinishAndClaim(Array.Empty<FinishedRun>(), 5);
        Assert.Empty(cycle.Claimed);
        Assert.Null(cycle.NextDueIn); // its only queue is paused: nothing is due, so the worker does not spin
        Assert.Equal(QueueJobState.Pending, Jobs.Get("r1").State);
        Assert.False(Queue.Db.Queues.SetPaused("reports", false).IsPaused);
        Assert.Equal(new[] { "r1" }, some.Claim(5).Select(c => c.Job.Id));
    }

    [SkippableFact]
    public void PausingAQueue_LetsItsRunningJobsFinish_AndHoldsBackItsRetries()
    {
        Jobs.Enqueue(new JobSpec { Id = "run", Command = "true", Queue = "q" });
        Jobs.Enqueue(new JobSpec { Id = "flaky", Command = "false", Queue = "q", MaxRetries = 2 });
        var leases = Queue.Db.Leases("w");
        var claims = leases.Claim(2);
        Queue.Db.Queues.SetPaused("q", true);
        Assert.True(leases.FinishRun(new FinishedRun(claims.Single(c => c.Job.Id == "run"), RunOutcome.Success())));
        Assert.True(leases.FinishRun(new FinishedRun(claims.Single(c => c.Job.Id == "flaky"), RunOutcome.Failure("Exited with code 1.", 1))));
        Assert.Equal(QueueJobState.Completed, Jobs.Get("run").State);
        Clock.Advance(TimeSpan.FromMinutes(5));
        Assert.Empty(leases.Claim(5));
        Assert.Equal(QueueJobState.Failed, Jobs.Get("flaky").State);
        Queue.Db.Queues.SetPaused("q", false);
        Assert.Equal("flaky", Assert.Single(leases.Claim(5)).Job.Id);
    }

    [SkippableFact]
    public void AQueueNeverSet_IsNotPaused_AndABadNameIsRefused()
    {
        var queue = Queue.Db.Queues.Get("Nothing-Here");
        Assert.Equal(("nothing-here", false, (DateTime?)null), (queue.Name, queue.IsPaused, queue.ChangedAt));
        Assert.Equal(QueueErrorCode.InvalidQueueName, Assert.Throws<QueueException>(() => Queue.Db.Queues.SetPaused("a b", true)).Code);
        Assert.Equal(Clock.UtcNow, Queue.Db.Queues.SetPaused("later", true).ChangedAt);
    }

    [SkippableFact]
    public void List_ShowsEveryQueueWithUnfinishedJobsOrSettings_WithItsCounts()
    {
        Assert.Equal(new[] { "default:False:0:0:0" }, Queue.Db.Queues.List().Select(Text));
        Jobs.Enqueue(Enumerable.Range(0, 3).Select(i => new JobSpec { Id = $"r{i}", Command = "true", Queue = "reports" }).ToList());
        Jobs.Enqueue(new JobSpec { Id = "flaky", Command = "false", Queue = "ops", MaxRetries = 1 });
        Jobs.Enqueue(new JobSpec { Id = "done", Command = "true", Queue = "archive" });
        var leases = Queue.Db.Leases("w", new[] { "ops", "archive" });
        var claims = leases.Claim(2);
        Assert.True(leases.FinishRun(new FinishedRun(claims.Single(c => c.Job.Id == "done"), RunOutcome.Success())));
        Assert.True(leases.FinishRun(new FinishedRun(claims.Single(c => c.Job.Id == "flaky"), RunOutcome.Failure("no", 1))));
        Assert.Single(Queue.Db.Leases("w2", new[] { "reports" }).Claim(1));
        Queue.Db.Queues.SetPaused("held", true);
        Assert.Equal(new[] { "default:False:0:0:0", "held:True:0:0:0", "ops:False:0:1:0", "reports:False:2:0:1" },
            Queue.Db.Queues.List().Select(Text));
    }

    private static string Text(NamedQueue q) => $"{q.Name}:{q.IsPaused}:{q.Pending}:{q.Failed}:{q.Processing}";

    [SkippableFact]
    public void AJobMovedToAnotherQueue_KeepsItsQueueAndPriority()
    {
        Add("src", "reports", priority: -3);
        var copy = Jobs.Get("src");
        using var other = new TempQueue(Kind);
        var moved = other.Jobs.Enqueue(new JobSpec { Id = copy.Id, Command = copy.Command, Queue = copy.Queue, Priority = copy.Priority });
        Assert.Equal(("reports", -3), (other.Jobs.Get("src").Queue, other.Jobs.Get("src").Priority));
        Assert.Equal("reports", moved.Queue);
    }
}

public sealed class SqliteNamedQueueFacts() : NamedQueueFacts(DriverKind.Sqlite);

public sealed class PostgresNamedQueueFacts() : NamedQueueFacts(DriverKind.Postgres);
