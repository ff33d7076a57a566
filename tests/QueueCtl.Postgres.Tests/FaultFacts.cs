using System.Diagnostics;
using Npgsql;
using QueueCtl.Storage;

namespace QueueCtl.Postgres.Tests;

public sealed class FaultFacts : IDisposable
{
    private readonly PgQueues _queues = new();

    public void Dispose() => _queues.Dispose();

    [Fact]
    public void A_lock_held_longer_than_the_busy_timeout_is_a_lock_timeout()
    {
        if (!PgQueues.Ready()) return;
        using var db = _queues.Open();
        db.Jobs.Enqueue(new JobSpec { Id = "locked", Command = "echo" });
        using var admin = PgQueues.Admin();
        using var tx = admin.BeginTransaction();
        using (var lockRow = new NpgsqlCommand($"SELECT 1 FROM \"{_queues.Schema}\".jobs WHERE id = 'locked' FOR UPDATE", admin, tx))
            lockRow.ExecuteNonQuery();
        db.BusyTimeout = TimeSpan.FromMilliseconds(300);
        var sw = Stopwatch.StartNew();
        var error = Assert.Throws<QueueException>(() => db.Jobs.Remove("locked"));
        Assert.Equal(QueueErrorCode.DatabaseUnavailable, error.Code);
        Assert.True(db.IsLockTimeout(error), error.Message);
        Assert.False(db.IsCorruption(error));
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), $"took {sw.ElapsedMilliseconds} ms");
        tx.Rollback();
        Assert.Equal("locked", db.Jobs.Remove("locked").Id);
    }

    [Fact]
    public void A_connection_killed_by_the_server_is_replaced_without_failing_a_call_and_the_listener_reconnects()
    {
        if (!PgQueues.Ready()) return;
        var app = "qc_" + _queues.Schema;
        using var db = _queues.Open(query: "application_name=" + app);
        using var writer = _queues.Open();
        using var listener = db.Listen();
        db.Jobs.Enqueue(new JobSpec { Id = "a", Command = "echo" });
        Assert.Equal(2, PgQueues.Scalar($"SELECT count(*) FROM pg_stat_activity WHERE application_name = '{app}'")); // pooled + listener
        PgQueues.Scalar($"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = '{app}'");

        // The listener notices, reports a change (notifications may have been lost), and listens again.
        Assert.True(listener.Wait(TimeSpan.FromSeconds(10)));
        Assert.NotEqual(QueueChanges.None, listener.TakeChanges());
        // The pooled connection the server closed is replaced before anything is sent on it: the call does not fail.
        Assert.NotNull(db.Jobs.Find("a"));
        var deadline = Stopwatch.StartNew();
        while (PgQueues.Scalar($"SELECT count(*) FROM pg_stat_activity WHERE application_name = '{app}' AND query ILIKE 'LISTEN%'") == 0)
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(10), "the listener did not reconnect");
            Thread.Sleep(50);
        }
        writer.Jobs.Enqueue(new JobSpec { Command = "after the reconnect" });
        Assert.True(listener.Wait(TimeSpan.FromSeconds(5)));
    }
    [Fact]
    public void A_worker_cycle_sent_in_one_batch_on_a_connection_the_server_closed_is_sent_again_and_done_once()
    {
        if (!PgQueues.Ready()) return;
        var app = "qc1_" + _queues.Schema;
        using var db = _queues.Open(query: "application_name=" + app);
        db.Workers.Register("w", QueueWorkerState.Running, 1, null, 2, null, null);
        db.Jobs.Enqueue(new[] { new JobSpec { Id = "a", Command = "echo" }, new JobSpec { Id = "b", Command = "echo" } });
        var leases = db.Leases("w");
        var first = leases.FinishAndClaim(Array.Empty<Jobs.FinishedRun>(), 1);
        Assert.Equal(1, PgQueues.Scalar($"SELECT count(*) FROM pg_stat_activity WHERE application_name = '{app}'")); // the pooled one
        PgQueues.Scalar($"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = '{app}'");
        var deadline = Stopwatch.StartNew();
        while (PgQueues.Scalar($"SELECT count(*) FROM pg_stat_activity WHERE application_name = '{app}'") > 0)
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(10), "the backend did not end");
            Thread.Sleep(20);
        }

        // The server said why it closed the connection before it ran anything of the batch: the cycle is sent again.
        var next = leases.FinishAndClaim(new[] { new Jobs.FinishedRun(first.Claimed.Single(), Jobs.RunOutcome.Success()) }, 1);
        Assert.Equal(new[] { true }, next.FinishAccepted);
        Assert.Equal(new[] { "b" }, next.Claimed.Select(c => c.Job.Id));
        Assert.Equal(QueueJobState.Completed, db.Jobs.Get("a").State);
        Assert.Equal(1, db.Jobs.Get("b").Runs);
    }
}
