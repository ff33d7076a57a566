using QueueCtl.Jobs;

namespace QueueCtl.Storage.Sqlite;

/// <summary>Reads what each run of a job printed.</summary>
internal sealed class SqliteOutputStore : IOutputStore
{
    private readonly SqliteDriver _db;

    public SqliteOutputStore(SqliteDriver db) => _db = db;

    /// <summary>The captured output of every run of the job, oldest run first. Runs that printed nothing are absent.</summary>
    public IReadOnlyList<JobRunOutput> Get(string jobId) => _db.Read(() => _db.Query(
        "SELECT j.id, o.run, o.format, o.stdout, o.stderr, o.stdout_dropped, o.stderr_dropped " +
        "FROM jobs j JOIN job_output o ON o.job_seq = j.seq WHERE j.id = $id ORDER BY o.run",
        r => new JobRunOutput(r.GetString(0), r.GetInt32(1), new CapturedOutput(Enum.Parse<OutputFormat>(r.GetString(2)),
            r.GetString(3), r.GetString(4), r.GetInt64(5), r.GetInt64(6))),
        ("$id", jobId)));
}
