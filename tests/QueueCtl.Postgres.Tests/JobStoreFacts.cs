using QueueCtl.Jobs;
using QueueCtl.Storage;

namespace QueueCtl.Postgres.Tests;

public sealed class JobStoreFacts : IDisposable
{
    private readonly PgQueues _queues = new();

    public void Dispose() => _queues.Dispose();

    [Fact]
    public void Enqueue_find_list_and_remove_round_trip()
    {
        if (!PgQueues.Ready()) return;
        var clock = new ManualClock();
        using var db = _queues.Open(clock);
        var job = db.Jobs.Enqueue(new JobSpec { Id = "Build-1", Command = "echo hi", WorkingDirectory = "/tmp", MaxRetries = 2, Timeout = TimeSpan.FromSeconds(9) });
        Assert.Equal(QueueJobState.Pending, job.State);
        Assert.Equal(clock.UtcNow, job.CreatedAt);

        var found = db.Jobs.Find("build-1"); // ids are case-insensitive
        Assert.NotNull(found);
        Assert.Equal("Build-1", found!.Id);
        Assert.Equal("echo hi", found.Command);
        Assert.Equal("/tmp", found.WorkingDirectory);
        Assert.Equal(2, found.MaxRetries);
        Assert.Equal(TimeSpan.FromSeconds(9), found.Timeout);
        Assert.Equal(clock.UtcNow, found.RunAt);
        Assert.Equal(db.Address, found.Database);

        db.Jobs.Enqueue(new JobSpec { Id = "Build-2", Command = "echo 2" });
        db.Jobs.Enqueue(new JobSpec { Id = "Other", Command = "echo 3" });
        Assert.Equal(new[] { "Build-1", "Build-2" }, db.Jobs.List(new[] { new WildcardFilter("build-*") }).Select(j => j.Id));
        Assert.Equal(new[] { "Build-1", "Build-2", "Other" }, db.Jobs.List(pageSize: 1).Select(j => j.Id));
        Assert.Equal(new[] { "Other" }, db.Jobs.List(new[] { new WildcardFilter("OTHER") }).Select(j => j.Id));
        Assert.Equal(2, db.Jobs.FindMany(new[] { "BUILD-1", "other", "missing" }).Count);

        var removed = db.Jobs.Remove("BUILD-2");
        Assert.Equal("Build-2", removed.Id);
        Assert.Null(db.Jobs.Find("Build-2"));
        var missing = Assert.Throws<QueueException>(() => db.Jobs.Remove("Build-2"));
        Assert.Equal(QueueErrorCode.JobNotFound, missing.Code);
    }

    [Fact]
    public void A_batch_refuses_bad_and_duplicate_specs_on_their_own()
    {
        if (!PgQueues.Ready()) return;
        using var db = _queues.Open();
        db.Jobs.Enqueue(new JobSpec { Id = "taken", Command = "echo" });
        var results = db.Jobs.Enqueue(new[]
        {
            new JobSpec { Command = "echo generated" },
            new JobSpec { Id = "TAKEN", Command = "echo" },
            new JobSpec { Id = "fresh", Command = "echo" },
            new JobSpec { Id = "Fresh", Command = "echo" },
            new JobSpec { Id = "empty", Command = "  " },
        });
        Assert.NotNull(results[0].Job);
        Assert.Equal(13, results[0].Job!.Id.Length);
        Assert.Equal(QueueErrorCode.JobAlreadyExists, results[1].Error!.Code);
        Assert.Equal("A job with id 'TAKEN' already exists; it was left as it is.", results[1].Error!.Message);
        Assert.NotNull(results[2].Job);
        Assert.Equal(QueueErrorCode.JobAlreadyExists, results[3].Error!.Code);
        Assert.Equal(QueueErrorCode.InvalidJobSpec, results[4].Error!.Code);
        Assert.Equal(3, db.Jobs.Status().Pending);
    }

    [Fact]
    public void Cancel_and_retry_from_the_dead_letter_queue()
    {
        if (!PgQueues.Ready()) return;
        var clock = new ManualClock();
        using var db = _queues.Open(clock);
        db.Jobs.Enqueue(new JobSpec { Id = "p", Command = "echo" });
        var cancelled = db.Jobs.Cancel("P");
        Assert.Equal(QueueJobState.Cancelled, cancelled.State);
        Assert.Equal("Cancelled before it ran.", cancelled.LastError);
        Assert.Equal(clock.UtcNow, cancelled.FinishedAt);
        Assert.Equal(QueueErrorCode.InvalidJobState, Assert.Throws<QueueException>(() => db.Jobs.Cancel("p")).Code);

        db.Jobs.Enqueue(new JobSpec { Id = "d", Command = "false", MaxRetries = 0 });
        var leases = db.Leases("w1");
        var claim = Assert.Single(leases.Claim(1));
        Assert.Equal(QueueErrorCode.InvalidJobState, Assert.Throws<QueueException>(() => db.Jobs.Remove("d")).Code);
        Assert.Equal(QueueErrorCode.InvalidJobState, Assert.Throws<QueueException>(() => db.Jobs.RetryDead("d")).Code);
        var flagged = db.Jobs.Cancel("d");
        Assert.True(flagged.CancelRequested);
        Assert.Equal(QueueJobState.Processing, flagged.State);
        Assert.Equal(new[] { claim.Seq }, leases.CancelRequests());
        Assert.True(leases.FinishRun(new FinishedRun(claim, RunOutcome.Failure("exit 1", 1))));
        var dead = db.Jobs.Get("d");
        Assert.Equal(QueueJobState.Dead, dead.State);
        Assert.False(dead.CancelRequested);
        var error = Assert.Single(dead.Errors);
        Assert.Equal(new QueueJobError(clock.UtcNow, 1, 1, "exit 1", 1), error);

        clock.Advance(TimeSpan.FromMinutes(1));
        var retried = db.Jobs.RetryDead("D");
        Assert.Equal(QueueJobState.Pending, retried.State);
        Assert.Equal(0, retried.Attempts);
        Assert.Equal(1, retried.Runs);
        Assert.Equal(clock.UtcNow, retried.RunAt);
        Assert.Null(retried.FinishedAt);
        Assert.Single(retried.Errors); // the history is kept
        var forced = db.Jobs.Remove("d", force: true);
        Assert.Equal("d", forced.Id);
    }

    [Fact]
    public void Output_of_each_run_is_kept_and_removed_with_its_job()
    {
        if (!PgQueues.Ready()) return;
        using var db = _queues.Open();
        db.Jobs.Enqueue(new JobSpec { Id = "o", Command = "echo", MaxRetries = 1 });
        var leases = db.Leases("w");
        var first = Assert.Single(leases.Claim(1));
        leases.FinishRun(new FinishedRun(first, RunOutcome.Failure("boom", 2, new CapturedOutput(OutputFormat.Text, "out1", "err1", 0, 5))));
        PgQueues.Execute($"UPDATE \"{_queues.Schema}\".jobs SET run_at = 0");
        var second = Assert.Single(leases.Claim(1));
        leases.FinishRun(new FinishedRun(second, RunOutcome.Success(0, new CapturedOutput(OutputFormat.CliXml, "out2", "", 3, 0))));
        var outputs = db.Outputs.Get("O");
        Assert.Equal(new[] { 1, 2 }, outputs.Select(o => o.Run));
        Assert.Equal(new CapturedOutput(OutputFormat.Text, "out1", "err1", 0, 5), outputs[0].Output);
        Assert.Equal(new CapturedOutput(OutputFormat.CliXml, "out2", "", 3, 0), outputs[1].Output);
        var job = db.Jobs.Get("o");
        Assert.Equal(QueueJobState.Completed, job.State);
        Assert.Equal("boom", job.LastError);
        db.Jobs.Remove("o");
        Assert.Equal(0, PgQueues.Scalar($"SELECT count(*) FROM \"{_queues.Schema}\".job_output"));
    }

    [Fact]
    public async Task Concurrent_batches_sharing_ids_in_opposite_orders_store_each_id_once()
    {
        if (!PgQueues.Ready()) return;
        using var a = _queues.Open();
        using var b = _queues.Open();
        for (var round = 0; round < 5; round++)
        {
            var ids = Enumerable.Range(0, 300).Select(i => $"r{round}-{i}").ToList();
            using var start = new Barrier(2);
            IReadOnlyList<EnqueueResult> Run(IQueueDriver db, IEnumerable<string> order)
            {
                var specs = order.Select(id => new JobSpec { Id = id, Command = "echo" }).ToList();
                start.SignalAndWait();
                return db.Jobs.Enqueue(specs);
            }
            var results = await Task.WhenAll(
                Task.Factory.StartNew(() => Run(a, ids), TaskCreationOptions.LongRunning),
                Task.Factory.StartNew(() => Run(b, Enumerable.Reverse(ids)), TaskCreationOptions.LongRunning));
            var all = results.SelectMany(r => r).ToList();
            Assert.All(all, r => Assert.True(r.Job is not null || r.Error!.Code == QueueErrorCode.JobAlreadyExists));
            Assert.Equal(ids.Count, all.Count(r => r.Job is not null));
        }
        Assert.Equal(1500, a.Jobs.Status().Pending);
    }
}
