using System.Diagnostics;
using Npgsql;
using QueueCtl.Storage;
using QueueCtl.Storage.Postgres;

namespace QueueCtl.Postgres.Tests;

/// <summary>What happens when the link to the server stops passing bytes without closing.</summary>
public sealed class LinkFacts : IDisposable
{
    private readonly PgQueues _queues = new();
    private readonly Xunit.Abstractions.ITestOutputHelper _output;
    private FreezingProxy? _proxy;

    public LinkFacts(Xunit.Abstractions.ITestOutputHelper output) => _output = output;

    public void Dispose()
    {
        _proxy?.Dispose();
        _queues.Dispose();
    }

    /// <summary>The test queue reached through the proxy, as an Npgsql connection string with our Schema key.</summary>
    private IQueueDriver OpenThroughProxy()
    {
        var server = PostgresAddress.Parse(PgQueues.Server!, null).Builder;
        _proxy = new FreezingProxy(server.Host!, server.Port);
        var builder = new NpgsqlConnectionStringBuilder(server.ConnectionString) { Host = "127.0.0.1", Port = _proxy.Port };
        return PostgresDriver.Open(builder.ConnectionString + ";Schema=" + _queues.Schema, QueueOpenOptions.Default);
    }

    [Fact]
    public void A_call_on_a_frozen_link_fails_within_the_busy_timeout_and_the_next_call_after_it_thaws_works()
    {
        if (!PgQueues.Ready()) return;
        using var db = OpenThroughProxy();
        db.Jobs.Enqueue(new JobSpec { Id = "x", Command = "echo" });
        db.BusyTimeout = TimeSpan.FromSeconds(1);
        _proxy!.Freeze();
        var sw = Stopwatch.StartNew();
        var error = Assert.Throws<QueueException>(() => db.Jobs.Find("x"));
        sw.Stop();
        Assert.Equal(QueueErrorCode.DatabaseUnavailable, error.Code);
        _output.WriteLine($"frozen link noticed after {sw.ElapsedMilliseconds} ms: {error.Message}");
        // The command timeout (2 s for 1 s) and Npgsql's attempt to deliver a cancel request (twice the 3 s connect timeout).
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), $"noticed after {sw.ElapsedMilliseconds} ms");
        _proxy.Thaw();
        Assert.NotNull(db.Jobs.Find("x"));
    }

    [Fact]
    public void A_listener_on_a_frozen_link_reports_a_change_and_listens_again_once_it_thaws()
    {
        if (!PgQueues.Ready()) return;
        using var db = OpenThroughProxy();
        using var writer = _queues.Open();
        using var listener = db.Listen();
        _proxy!.Freeze();
        var sw = Stopwatch.StartNew();
        Assert.True(listener.Wait(TimeSpan.FromSeconds(30)), "the frozen link went unnoticed");
        Assert.NotEqual(QueueChanges.None, listener.TakeChanges());
        var noticed = sw.Elapsed;
        _output.WriteLine($"frozen listener link noticed after {noticed.TotalMilliseconds:0} ms");
        _proxy.Thaw();
        // Once it listens again, a change made elsewhere wakes it.
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            writer.Jobs.Enqueue(new JobSpec { Command = "echo" });
            if (listener.Wait(TimeSpan.FromSeconds(1)) && listener.TakeChanges() != QueueChanges.None) break;
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(60), "the listener did not come back");
        }
        Assert.True(noticed < TimeSpan.FromSeconds(20), $"noticed after {noticed.TotalMilliseconds:0} ms");
    }

    [Fact]
    public void A_transaction_cut_off_mid_way_gives_its_row_locks_back_within_seconds()
    {
        if (!PgQueues.Ready()) return;
        using var cutOff = OpenThroughProxy();
        using var other = _queues.Open();
        other.Jobs.Enqueue(new JobSpec { Id = "held", Command = "true" });
        cutOff.BusyTimeout = TimeSpan.FromMilliseconds(250);
        var pg = (PostgresDriver)cutOff;
        // The link dies after the transaction has locked the row and before it can commit.
        Assert.Throws<QueueException>(() => pg.Run(session =>
        {
            session.Execute("UPDATE {s}.jobs SET updated_at = updated_at WHERE id = 'held'");
            _proxy!.Freeze();
            return session.Execute("SELECT 1");
        }));
        var sw = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                other.Jobs.Cancel("held");
                break;
            }
            catch (QueueException) when (sw.Elapsed < TimeSpan.FromSeconds(30))
            {
                // Still locked by the vanished transaction.
            }
        }
        _output.WriteLine($"row lock given back {sw.ElapsedMilliseconds} ms after the cut-off call failed");
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), $"the row stayed locked for {sw.ElapsedMilliseconds} ms");
        Assert.Equal(QueueJobState.Cancelled, other.Jobs.Get("held").State);
    }
}
