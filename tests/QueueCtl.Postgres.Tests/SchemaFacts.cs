using QueueCtl.Storage;
using QueueCtl.Storage.Postgres;

namespace QueueCtl.Postgres.Tests;

public sealed class SchemaFacts : IDisposable
{
    private readonly PgQueues _queues = new();

    public void Dispose() => _queues.Dispose();

    [Fact]
    public async Task Ten_concurrent_opens_of_a_fresh_schema_migrate_it_once()
    {
        if (!PgQueues.Ready()) return;
        using var start = new Barrier(10);
        var opens = Enumerable.Range(0, 10).Select(_ => Task.Factory.StartNew(() =>
        {
            start.SignalAndWait();
            return _queues.Open();
        }, TaskCreationOptions.LongRunning)).ToArray();
        var drivers = await Task.WhenAll(opens);
        Assert.All(drivers, d => Assert.Equal("PostgreSQL", d.Engine));
        Assert.Equal(PostgresSchema.CurrentVersion, PgQueues.Scalar($"SELECT count(*) FROM \"{_queues.Schema}\".schema_version"));
        Assert.Equal(PostgresSchema.CurrentVersion, PgQueues.Scalar($"SELECT count(DISTINCT version) FROM \"{_queues.Schema}\".schema_version"));
        drivers[3].Jobs.Enqueue(new JobSpec { Command = "echo" });
        Assert.Equal(1, drivers[7].Jobs.Status().Pending);
    }

    [Fact]
    public void A_version_1_schema_is_upgraded_with_its_jobs_in_the_default_queue()
    {
        if (!PgQueues.Ready()) return;
        var schema = $"\"{_queues.Schema}\"";
        PgQueues.Execute($"CREATE SCHEMA {schema}; " + PostgresSchema.Migrations[0].Replace("{s}", schema) +
            $"; INSERT INTO {schema}.schema_version (version, applied_at) VALUES (1, 0);" +
            $"INSERT INTO {schema}.jobs (id, command, max_retries, run_at, created_at, updated_at) VALUES ('old', 'echo old', 3, 0, 0, 0);");
        using var db = _queues.Open();
        var old = db.Jobs.Get("old");
        Assert.Equal((QueueNames.Default, 0), (old.Queue, old.Priority));
        db.Jobs.Enqueue(new JobSpec { Id = "new", Command = "true", Priority = 1 });
        Assert.Equal(new[] { "new", "old" }, db.Leases("w").Claim(2).Select(c => c.Job.Id));
        Assert.Equal(PostgresSchema.CurrentVersion, PgQueues.Scalar($"SELECT max(version) FROM {schema}.schema_version"));
    }

    [Fact]
    public void A_schema_from_a_newer_QueueCtl_is_refused_and_left_as_it_is()
    {
        if (!PgQueues.Ready()) return;
        _queues.Open().Jobs.Enqueue(new JobSpec { Id = "kept", Command = "echo" });
        PgQueues.Execute($"INSERT INTO \"{_queues.Schema}\".schema_version (version, applied_at) VALUES ({PostgresSchema.CurrentVersion + 1}, 0)");
        var refused = Assert.Throws<QueueException>(() => _queues.Open());
        Assert.Equal(QueueErrorCode.DatabaseTooNew, refused.Code);
        Assert.Contains($"schema version {PostgresSchema.CurrentVersion + 1}", refused.Message);
        Assert.Equal(1, PgQueues.Scalar($"SELECT count(*) FROM \"{_queues.Schema}\".jobs"));
    }

    [Fact]
    public void A_schema_holding_tables_QueueCtl_did_not_create_is_refused()
    {
        if (!PgQueues.Ready()) return;
        PgQueues.Execute($"CREATE SCHEMA \"{_queues.Schema}\"; CREATE TABLE \"{_queues.Schema}\".invoices (id int)");
        var refused = Assert.Throws<QueueException>(() => _queues.Open());
        Assert.Equal(QueueErrorCode.DatabaseUnavailable, refused.Code);
        Assert.Contains("did not create", refused.Message);
        Assert.Equal(0, PgQueues.Scalar($"SELECT count(*) FROM pg_tables WHERE schemaname = '{_queues.Schema}' AND tablename = 'jobs'"));
    }

    [Fact]
    public void Two_schemas_are_two_queues_in_one_database()
    {
        if (!PgQueues.Ready()) return;
        using var other = new PgQueues();
        using var a = _queues.Open();
        using var b = other.Open();
        a.Jobs.Enqueue(new JobSpec { Id = "same", Command = "echo a" });
        b.Jobs.Enqueue(new JobSpec { Id = "same", Command = "echo b" });
        Assert.Equal("echo a", a.Jobs.Get("same").Command);
        Assert.Equal("echo b", b.Jobs.Get("same").Command);
        Assert.NotEqual(a.LocalPath, b.LocalPath);
    }
}
