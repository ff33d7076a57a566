using QueueCtl.Jobs;
using QueueCtl.Storage;

namespace QueueCtl.Postgres.Tests;

public sealed class WorkerConfigFacts : IDisposable
{
    private readonly PgQueues _queues = new();

    public void Dispose() => _queues.Dispose();

    [Fact]
    public void Workers_register_heartbeat_stop_and_are_lost_by_the_store_clock()
    {
        if (!PgQueues.Ready()) return;
        var clock = new ManualClock();
        using var db = _queues.Open(clock);
        db.Workers.Register("W1", QueueWorkerState.Starting, Environment.ProcessId, null, 2, "/tmp/w1.log", "1.0");
        Assert.False(db.Workers.Heartbeat("w1"));
        var w = db.Workers.Find("w1")!;
        Assert.Equal(QueueWorkerState.Running, w.State);
        Assert.Equal("/tmp/w1.log", w.LogPath);
        Assert.Equal(Environment.MachineName, w.HostName);
        db.Jobs.Enqueue(new JobSpec { Id = "j", Command = "echo" });
        var claim = Assert.Single(db.Leases("W1").Claim(1));
        Assert.Equal(new[] { "j" }, db.Workers.Find("W1")!.CurrentJobs);
        db.Leases("W1").FinishRun(new FinishedRun(claim, RunOutcome.Success()));
        Assert.Equal(1, db.Workers.Find("W1")!.JobsDone);

        Assert.True(db.Workers.RequestStop("w1"));
        Assert.True(db.Workers.IsStopRequested("W1"));
        Assert.True(db.Workers.Heartbeat("W1"));
        Assert.Equal(QueueWorkerState.Stopping, db.Workers.Find("W1")!.State);
        Assert.Equal(new[] { "W1" }, db.Workers.OnThisHost(new[] { "w1" }).Select(x => x.Id));
        Assert.Single(db.Workers.LiveOnThisHost());

        clock.Advance(db.Config.LeaseDuration + TimeSpan.FromSeconds(1));
        Assert.Equal(QueueWorkerState.Lost, db.Workers.Find("W1")!.State);
        Assert.Equal(1, db.Workers.MarkSilentWorkersLost());
        Assert.False(db.Workers.RequestStop("W1"));
        clock.Advance(TimeSpan.FromHours(2));
        Assert.Equal(1, db.Workers.Prune(TimeSpan.FromHours(1)));
        Assert.Empty(db.Workers.List());
    }

    [Fact]
    public void Config_values_are_validated_stored_reset_and_reloaded()
    {
        if (!PgQueues.Ready()) return;
        using var db = _queues.Open();
        using var other = _queues.Open();
        Assert.Equal(3, db.Config.MaxRetries);
        var set = db.Settings.Set("MAX-RETRIES", "5");
        Assert.Equal("max-retries", set.Name);
        Assert.Equal(5, db.Config.MaxRetries);
        Assert.Equal(3, other.Config.MaxRetries);
        Assert.Equal(5, other.ReloadConfig().MaxRetries);
        Assert.Equal(QueueErrorCode.InvalidConfigValue, Assert.Throws<QueueException>(() => db.Settings.Set("max-retries", "-1")).Code);
        Assert.Equal(QueueErrorCode.UnknownConfigName, Assert.Throws<QueueException>(() => db.Settings.Set("nope", "1")).Code);
        db.Settings.Set("synchronous", "NORMAL"); // SQLite's setting: stored, and without effect here
        db.Settings.Reset("max-retries");
        Assert.Equal(3, db.Config.MaxRetries);
        Assert.Equal(db.Settings.List().Count, Configuration.ConfigSettings.All.Count);
        Assert.Equal(7, db.Jobs.Enqueue(new JobSpec { Command = "x", MaxRetries = 7 }).MaxRetries);
        Assert.Equal(3, db.Jobs.Enqueue(new JobSpec { Command = "x" }).MaxRetries);
    }
}
