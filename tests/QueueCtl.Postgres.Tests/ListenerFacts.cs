using System.Diagnostics;
using QueueCtl.Storage;

namespace QueueCtl.Postgres.Tests;

public sealed class ListenerFacts : IDisposable
{
    private readonly PgQueues _queues = new();

    public void Dispose() => _queues.Dispose();

    [Fact]
    public async Task An_enqueue_by_another_driver_wakes_a_waiting_listener_within_a_second()
    {
        if (!PgQueues.Ready()) return;
        using var waiter = _queues.Open();
        using var writer = _queues.Open();
        using var listener = waiter.Listen();
        Assert.True(listener.IsWatching);
        Assert.False(listener.HasChanged());

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
        Assert.True(listener.HasChanged());
        Assert.False(listener.HasChanged());
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
        Assert.False(listener.HasChanged());
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
        foreach (var change in changes)
        {
            change();
            Assert.True(listener.Wait(TimeSpan.FromSeconds(5)));
            Assert.True(listener.HasChanged());
        }
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
        Assert.True(listener.HasChanged()); // after a poll, the caller looks
        Assert.False(listener.HasChanged());
    }
}
