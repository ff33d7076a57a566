using QueueCtl.Jobs;
using QueueCtl.Storage;
using QueueCtl.Storage.Sqlite;

namespace QueueCtl.Tests;

public abstract class JobStoreFacts : DriverFacts
{
    protected JobStoreFacts(DriverKind kind) : base(kind)
    {
    }


    private IJobStore Jobs => Queue.Jobs;

    [SkippableFact]
    public void Enqueue_StoresAPendingJob_WithConfiguredDefaults()
    {
        var job = Jobs.Enqueue(new JobSpec { Command = "echo hi" });
        Assert.Matches("^[0-9a-z]{13}$", job.Id);
        Assert.Equal(QueueJobState.Pending, job.State);
        Assert.Equal(3, job.MaxRetries);
        Assert.Equal(Queue.Manual.UtcNow, job.CreatedAt);
        Assert.Equal(job.CreatedAt, job.RunAt);
        var stored = Jobs.Get(job.Id);
        Assert.Equal(job.Command, stored.Command);
        Assert.Equal(job.CreatedAt, stored.CreatedAt);
    }

    [SkippableFact]
    public void Enqueue_ADuplicateId_IsRefused_AndLeavesTheOriginal_WhileTheRestOfTheBatchIsStored()
    {
        Jobs.Enqueue(new JobSpec { Id = "a", Command = "echo original" });
        var results = Jobs.Enqueue(new[]
        {
            new JobSpec { Id = "b", Command = "echo b" },
            new JobSpec { Id = "A", Command = "echo imposter" },
            new JobSpec { Id = "c", Command = "echo c" },
        });
        Assert.NotNull(results[0].Job);
        Assert.Equal(QueueErrorCode.JobAlreadyExists, results[1].Error!.Code);
        Assert.NotNull(results[2].Job);
        Assert.Equal("echo original", Jobs.Get("a").Command);
        Assert.Equal(3, Jobs.Status().Pending);
    }

    [SkippableTheory]
    [InlineData("")]
    [InlineData("   ")]
    public void Enqueue_AnEmptyCommand_IsRefused(string command)
    {
        var result = Jobs.Enqueue(new[] { new JobSpec { Command = command } })[0];
        Assert.Equal(QueueErrorCode.InvalidJobSpec, result.Error!.Code);
        Assert.Equal(0, Jobs.Status().Total);
    }

    [SkippableFact]
    public void Enqueue_NegativeMaxRetries_IsRefused()
    {
        var result = Jobs.Enqueue(new[] { new JobSpec { Command = "true", MaxRetries = -1 } })[0];
        Assert.Equal(QueueErrorCode.InvalidJobSpec, result.Error!.Code);
        Assert.Equal(0, Jobs.Status().Total);
    }

    [SkippableFact]
    public void List_FiltersByWildcardAndState_OldestFirst()
    {
        Jobs.Enqueue(new[] { "build-1", "build-2", "test-1", "build_3" }.Select(id => new JobSpec { Id = id, Command = "true" }).ToList());
        Assert.Equal(new[] { "build-1", "build-2" }, Jobs.List(new[] { new WildcardFilter("build-*") }).Select(j => j.Id));
        Assert.Equal(new[] { "build-1", "test-1" }, Jobs.List(new[] { new WildcardFilter("*-[1]") }).Select(j => j.Id));
        Assert.Equal(new[] { "build_3" }, Jobs.List(new[] { new WildcardFilter("build_*") }).Select(j => j.Id));
        Assert.Empty(Jobs.List(states: new[] { QueueJobState.Dead }));
        Assert.Equal(2, Jobs.List(first: 2).Count());
    }

    [SkippableFact]
    public void FindMany_FindsAnyNumberOfIds_IgnoringCase_AndSkipsMissingOnes()
    {
        Jobs.Enqueue(Enumerable.Range(0, 1200).Select(i => new JobSpec { Id = $"m{i}", Command = "true" }).ToList());
        var wanted = Enumerable.Range(0, 1200).Select(i => i % 2 == 0 ? $"M{i}" : $"m{i}").Append("missing").ToList();
        var found = Jobs.FindMany(wanted);
        Assert.Equal(1200, found.Count);
        Assert.Equal(1200, found.Select(j => j.Id).Distinct(StringComparer.OrdinalIgnoreCase).Count());
        Assert.Empty(Jobs.FindMany(Array.Empty<string>()));
    }

    [SkippableFact]
    public void List_TakesThousandsOfExactIds_AndPatterns_InOneCall()
    {
        Jobs.Enqueue(Enumerable.Range(0, 3000).Select(i => new JobSpec { Id = $"x{i}", Command = "true" }).ToList());
        Jobs.Enqueue(new JobSpec { Id = "other-1", Command = "true" });
        var filters = Enumerable.Range(0, 2500).Select(i => new WildcardFilter($"X{i}")).Append(new WildcardFilter("other-*")).ToList();
        var found = Jobs.List(filters).Select(j => j.Id).ToList();
        Assert.Equal(2501, found.Count);
        Assert.Equal("x0", found[0]);
        Assert.Equal("other-1", found[^1]);
    }

    [SkippableFact]
    public void List_PagesThroughEveryJob()
    {
        Jobs.Enqueue(Enumerable.Range(0, 2500).Select(i => new JobSpec { Id = $"j{i}", Command = "true" }).ToList());
        var all = Jobs.List(pageSize: 1000).Select(j => j.Id).ToList();
        Assert.Equal(2500, all.Count);
        Assert.Equal(2500, all.Distinct().Count());
        Assert.Equal("j0", all[0]);
        Assert.Equal("j2499", all[^1]);
    }

    [SkippableFact]
    public void Remove_RefusesAProcessingJob_UnlessForced()
    {
        Jobs.Enqueue(new JobSpec { Id = "busy", Command = "sleep 10" });
        Queue.Db.Leases("w1").Claim(1);
        Assert.Equal(QueueErrorCode.InvalidJobState, Assert.Throws<QueueException>(() => Jobs.Remove("busy")).Code);
        Assert.Equal(QueueJobState.Processing, Jobs.Get("busy").State);
        Jobs.Remove("busy", force: true);
        Assert.Null(Jobs.Find("busy"));
        Assert.Equal(0, Jobs.Status().Processing);
    }

    [SkippableFact]
    public void Remove_AMissingJob_IsNotFound() =>
        Assert.Equal(QueueErrorCode.JobNotFound, Assert.Throws<QueueException>(() => Jobs.Remove("ghost")).Code);

    [SkippableFact]
    public void RetryDead_ReturnsTheJobToPending_WithAttemptsReset_AndHistoryKept()
    {
        Jobs.Enqueue(new JobSpec { Id = "d", Command = "false", MaxRetries = 0 });
        var leases = Queue.Db.Leases("w1");
        var claim = leases.Claim(1).Single();
        leases.FinishRun(new FinishedRun(claim, RunOutcome.Failure("boom", 1)));
        Assert.Equal(QueueJobState.Dead, Jobs.Get("d").State);

        var retried = Jobs.RetryDead("d");
        Assert.Equal(QueueJobState.Pending, retried.State);
        Assert.Equal(0, retried.Attempts);
        Assert.Equal(1, retried.Runs);
        Assert.Null(retried.FinishedAt);
        Assert.Equal("boom", retried.LastError);
        Assert.Single(retried.Errors);

        var again = leases.Claim(1).Single();
        Assert.Equal(1, again.Job.Attempts);
        Assert.Equal(2, again.Run);
    }

    [SkippableFact]
    public void RetryDead_RefusesAJobThatIsNotDead_AndLeavesIt()
    {
        Jobs.Enqueue(new JobSpec { Id = "p", Command = "true" });
        Assert.Equal(QueueErrorCode.InvalidJobState, Assert.Throws<QueueException>(() => Jobs.RetryDead("p")).Code);
        Assert.Equal(QueueJobState.Pending, Jobs.Get("p").State);
    }

    [SkippableFact]
    public void Cancel_APendingJob_CancelsIt_AndAProcessingJob_FlagsIt()
    {
        Jobs.Enqueue(new[] { new JobSpec { Id = "run", Command = "sleep 9" }, new JobSpec { Id = "wait", Command = "true" } });
        Queue.Db.Leases("w1").Claim(1);
        Assert.True(Jobs.Cancel("run").CancelRequested);
        Assert.Equal(QueueJobState.Processing, Jobs.Get("run").State);
        var cancelled = Jobs.Cancel("wait");
        Assert.Equal(QueueJobState.Cancelled, cancelled.State);
        Assert.NotNull(cancelled.FinishedAt);
        Assert.Equal(QueueErrorCode.InvalidJobState, Assert.Throws<QueueException>(() => Jobs.Cancel("wait")).Code);
    }

    [SkippableFact]
    public void Status_CountsEveryState_AndTheOldestPendingAge()
    {
        Jobs.Enqueue(new JobSpec { Id = "old", Command = "true" });
        Queue.Manual.Advance(TimeSpan.FromMinutes(5));
        Jobs.Enqueue(new[] { new JobSpec { Id = "new", Command = "true" }, new JobSpec { Id = "x", Command = "true" } });
        Jobs.Cancel("x");
        var status = Jobs.Status();
        Assert.Equal(2, status.Pending);
        Assert.Equal(1, status.Cancelled);
        Assert.Equal(3, status.Total);
        Assert.Equal(TimeSpan.FromMinutes(5), status.OldestPendingAge);
        Jobs.Remove("old");
        Assert.Equal(1, Jobs.Status().Pending);
    }
}

public sealed class SqliteJobStoreFacts() : JobStoreFacts(DriverKind.Sqlite);

public sealed class PostgresJobStoreFacts() : JobStoreFacts(DriverKind.Postgres);

/// <summary>What the store refuses writes nothing (issue 8, items 12 and 15).</summary>
public abstract class JobStoreRefusalFacts : DriverFacts
{
    protected JobStoreRefusalFacts(DriverKind kind) : base(kind)
    {
    }


    [SkippableTheory]
    [InlineData(QueueJobKind.Command)]
    [InlineData(QueueJobKind.ScriptBlock)]
    public void Enqueue_RefusesACommandWithNul_AndStoresNothing(QueueJobKind kind)
    {
        var error = Assert.Throws<QueueException>(() => Queue.Jobs.Enqueue(new JobSpec { Kind = kind, Command = "echo safe\0rm -rf ~" }));
        Assert.Equal(QueueErrorCode.InvalidJobSpec, error.Code);
        Assert.Empty(Queue.Jobs.List());
        Assert.Equal(0, Queue.Jobs.Status().Pending);
    }

    [SkippableFact]
    public void Enqueue_RefusesOnlyTheBadItemOfABatch()
    {
        var results = Queue.Jobs.Enqueue(new[]
        {
            new JobSpec { Id = "good", Command = "echo ok" },
            new JobSpec { Id = "bad", Command = "echo a\0b" },
            new JobSpec { Id = "late", Command = "echo ok", MaxRetries = JobLimits.MaxRetriesMax + 1 },
        });
        Assert.NotNull(results[0].Job);
        Assert.Equal(QueueErrorCode.InvalidJobSpec, results[1].Error!.Code);
        Assert.Equal(QueueErrorCode.InvalidJobSpec, results[2].Error!.Code);
        Assert.Equal(new[] { "good" }, Queue.Jobs.List().Select(j => j.Id));
    }
}

public sealed class SqliteJobStoreRefusalFacts() : JobStoreRefusalFacts(DriverKind.Sqlite);

public sealed class PostgresJobStoreRefusalFacts() : JobStoreRefusalFacts(DriverKind.Postgres);
