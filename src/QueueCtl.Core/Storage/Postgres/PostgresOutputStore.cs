using QueueCtl.Jobs;

namespace QueueCtl.Storage.Postgres;

/// <summary>Reads what each run of a job printed.</summary>
internal sealed class PostgresOutputStore : IOutputStore
{
    private readonly PostgresDriver _db;

    public PostgresOutputStore(PostgresDriver db) => _db = db;

    public IReadOnlyList<JobRunOutput> Get(string jobId) => _db.Run(session => session.Query(
        "SELECT j.id, o.run, o.format, o.stdout, o.stderr, o.stdout_dropped, o.stderr_dropped " +
        "FROM {s}.jobs j JOIN {s}.job_output o ON o.job_seq = j.seq WHERE lower(j.id) = lower(@id) ORDER BY o.run",
        r => new JobRunOutput(r.GetString(0), r.GetInt32(1), new CapturedOutput(Enum.Parse<OutputFormat>(r.GetString(2)),
            r.GetString(3), r.GetString(4), r.GetInt64(5), r.GetInt64(6))),
        Pg.Text("id", jobId)));
}
