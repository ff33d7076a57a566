using QueueCtl.Jobs;
using System.Diagnostics;
using QueueCtl.Storage;

namespace QueueCtl.Postgres.Tests;

public sealed class ListenerFacts : IDisposable
{
    private readonly PgQueues _queues = new();

    public void Dispose() => _queues.Dispose();

    /// <summary>The listener wakes within seconds and reports exactly <paramref name="kinds"/>.</summary>
    private static void AssertHears(IQueueListener listener, QueueChanges kinds)
    {
        Assert.True(listener.Wait(TimeSpan.FromSeconds(5)));
        Assert.Equal(kinds, listener.TakeChanges());
    }

    [Fact]
    public async Task An_enqueue_by_another_driver_wakes_a_waiting_listener_within_a_second()
    {
        if (!PgQueues.Ready()) return;
        using var waiter = _queues.Open();
        using var writer = _queues.Open();
        using var listener = waiter.Listen();
        Assert.True(listener.IsWatching);
        Assert.Equal(QueueChanges.None, listener.TakeChanges());

        var sw = Stopwatch.StartNew();
        var enqueue = Task.Run(() =>
        {
            Thread.Sleep(200); // the listener is waiting by then: what is measured is the wake-up, not a missed window
            writer.Jobs.Enqueue(new JobSpec { Command = "echo" });
        });
        Assert.True(listener.Wait(TimeSpan.FromSeconds(10)));
        sw.Stop();
        await enqueue;
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(1.2), $"woke after {sw.ElapsedMilliseconds} ms");
        Assert.NotEqual(QueueChanges.None, listener.TakeChanges());
        Assert.Equal(QueueChanges.None, listener.TakeChanges());
    }

    [Fact]
    public void The_drivers_own_changes_and_changes_to_other_queues_do_not_wake_it()
    {
        if (!PgQueues.Ready()) return;
        using var db = _queues.Open();
        using var other = new PgQueues();
        using var otherDb = other.Open();
        using var listener = db.Listen();
        db.Jobs.Enqueue(new JobSpec { Command = "mine" });
        otherDb.Jobs.Enqueue(new JobSpec { Command = "theirs" });
        Assert.False(listener.Wait(TimeSpan.FromMilliseconds(500)));
        Assert.Equal(QueueChanges.None, listener.TakeChanges());
    }

    [Fact]
    public void Poke_wakes_a_wait_from_another_thread()
    {
        if (!PgQueues.Ready()) return;
        using var db = _queues.Open();
        using var listener = db.Listen();
        var sw = Stopwatch.StartNew();
        _ = Task.Run(() => { Thread.Sleep(100); listener.Poke(); });
        Assert.False(listener.Wait(TimeSpan.FromSeconds(30)));
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), $"woke after {sw.ElapsedMilliseconds} ms");
    }

    [Fact]
    public void Cancel_retry_config_and_stop_requests_notify_too()
    {
        if (!PgQueues.Ready()) return;
        using var waiter = _queues.Open();
        using var writer = _queues.Open();
        writer.Jobs.Enqueue(new JobSpec { Id = "c", Command = "echo" });
        using var listener = waiter.Listen();
        var changes = new Action[]
        {
            () => writer.Jobs.Cancel("c"),
            () => writer.Settings.Set("max-retries", "7"),
            () => writer.Settings.Reset("max-retries"),
            () => writer.Workers.Register("w", QueueWorkerState.Running, 1, null, 1, null, null),
            () => writer.Workers.RequestStop("w"),
        };
        var kinds = new[] { QueueChanges.Finished, QueueChanges.Config, QueueChanges.Config, QueueChanges.Control, QueueChanges.Control };
        for (var i = 0; i < changes.Length; i++)
        {
            changes[i]();
            AssertHears(listener, kinds[i]);
        }
    }

    [Fact]
    public void A_listener_hears_only_the_kinds_it_was_opened_for()
    {
        if (!PgQueues.Ready()) return;
        using var waiter = _queues.Open();
        using var writer = _queues.Open();
        using var listener = waiter.Listen(QueueChanges.Ready | QueueChanges.Control);
        using var all = waiter.Listen();
        writer.Jobs.Enqueue(new JobSpec { Id = "done", Command = "echo" });
        AssertHears(listener, QueueChanges.Ready);
        AssertHears(all, QueueChanges.Ready);

        // A run that ends the job is Finished only: the narrow listener sleeps through it, the other hears it.
        var leases = writer.Leases("w1");
        var claim = Assert.Single(leases.FinishAndClaim([], 1).Claimed);
        leases.FinishAndClaim([new FinishedRun(claim, RunOutcome.Success())], 0);
        AssertHears(all, QueueChanges.Finished);
        Assert.False(listener.Wait(TimeSpan.FromMilliseconds(300)));
        Assert.Equal(QueueChanges.None, listener.TakeChanges());

        // A failed run that will be retried makes the job claimable again: Ready.
        writer.Jobs.Enqueue(new JobSpec { Id = "again", Command = "echo", MaxRetries = 3 });
        AssertHears(listener, QueueChanges.Ready);
        claim = Assert.Single(leases.FinishAndClaim([], 1).Claimed);
        leases.FinishAndClaim([new FinishedRun(claim, RunOutcome.Failure("boom"))], 0);
        AssertHears(listener, QueueChanges.Ready);
    }

    [Fact]
    public void A_watched_driver_rereads_its_configuration_only_after_another_process_changed_it()
    {
        if (!PgQueues.Ready()) return;
        using var worker = _queues.Open();
        using var admin = _queues.Open();
        using var listener = worker.Listen(QueueChanges.Ready);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        // Changed behind the driver's back (no notification): a watched driver keeps what it read.
        worker.ReloadConfig();
        PgQueues.Execute($"INSERT INTO \"{_queues.Schema}\".config (name, value) VALUES ('max-retries', '9')");
        Thread.Sleep(300);
        Assert.NotEqual(9, worker.ReloadConfig().MaxRetries);

        // Through the queue, another process's change is notified and read at the next reload.
        admin.Settings.Set("max-retries", "5");
        while (worker.ReloadConfig().MaxRetries != 5 && DateTime.UtcNow < deadline) Thread.Sleep(20);
        Assert.Equal(5, worker.ReloadConfig().MaxRetries);

        // The driver's own change: its listener ignores its own notification, and yet the change is what it reads.
        worker.Settings.Set("max-retries", "6");
        Assert.Equal(6, worker.Config.MaxRetries);
        Assert.Equal(6, worker.ReloadConfig().MaxRetries);
    }

    [Fact]
    public void Poll_only_mode_never_watches_and_waits_out_its_timeout()
    {
        if (!PgQueues.Ready()) return;
        using var db = Storage.Postgres.PostgresDriver.Open(_queues.Address + "&listen=false", QueueOpenOptions.Default);
        Assert.EndsWith("&listen=false", db.Address);
        using var listener = db.Listen();
        Assert.False(listener.IsWatching);
        var sw = Stopwatch.StartNew();
        Assert.False(listener.Wait(TimeSpan.FromMilliseconds(300)));
        Assert.True(sw.Elapsed >= TimeSpan.FromMilliseconds(290));
        Assert.NotEqual(QueueChanges.None, listener.TakeChanges()); // after a poll, the caller looks
        Assert.Equal(QueueChanges.None, listener.TakeChanges());
    }
}
