namespace QueueCtl.Storage.Postgres;

/// <summary>
/// The queue at a glance, cheap at any size. Counts per state are the sums of job_count_deltas, which the jobs triggers
/// append to (one row per state per statement, so writers never queue on a counter row). The rows are folded into one
/// per state when they pile up: by Status itself, and every <see cref="CompactEvery"/> writes of this process, so a
/// queue nobody looks at does not grow them without end.
/// </summary>
internal sealed class PostgresCounts
{
    private const int CompactAbove = 1000;
    private const int CompactEvery = 2000;

    // Takes only rows no other folder holds (SKIP LOCKED), so two folding at once neither wait nor count twice; rows
    // added meanwhile are not seen by the DELETE and stay.
    private const string CompactSql =
        "WITH d AS (DELETE FROM {s}.job_count_deltas WHERE ctid IN (SELECT ctid FROM {s}.job_count_deltas FOR UPDATE SKIP LOCKED) " +
        "RETURNING state, n) INSERT INTO {s}.job_count_deltas (state, n) SELECT state, sum(n) FROM d GROUP BY state";

    private readonly PostgresDriver _db;
    private int _writes;

    public PostgresCounts(PostgresDriver db) => _db = db;

    public QueueStatus Status()
    {
        var (counts, rows, workers, oldest, now) = _db.Run(session =>
        {
            var perState = session.Query("SELECT state, sum(n)::bigint, count(*) FROM {s}.job_count_deltas GROUP BY state",
                r => (State: r.GetString(0), N: r.GetInt64(1), Rows: r.GetInt64(2)));
            var live = session.Scalar<long>(
                "SELECT count(*) FROM {s}.workers WHERE state IN ('Starting', 'Running', 'Stopping') AND heartbeat_at >= @since",
                Pg.Big("since", session.Now - (long)_db.Config.LeaseDuration.TotalMilliseconds));
            var first = session.Scalar<long?>("SELECT created_at FROM {s}.jobs WHERE state = 'Pending' ORDER BY seq LIMIT 1");
            return (perState.ToDictionary(x => x.State, x => x.N), perState.Sum(x => x.Rows), live, first, session.Now);
        });
        if (rows > CompactAbove) TryCompact();
        return StoredRows.Status(counts, workers, oldest, now, _db.Address);
    }

    public bool HasUnfinishedJobs() => _db.Run(session =>
        session.Scalar<long>("SELECT coalesce(sum(n), 0)::bigint FROM {s}.job_count_deltas WHERE state IN ('Pending', 'Failed', 'Processing')") > 0);

    /// <summary>Counts a write to jobs; every so often folds the deltas.</summary>
    public void Wrote()
    {
        if (Interlocked.Increment(ref _writes) % CompactEvery == 0) TryCompact();
    }

    /// <summary>Folds the deltas; a failed fold is left for the next one.</summary>
    private void TryCompact()
    {
        try
        {
            Compact();
        }
        catch (QueueException)
        {
            // Only housekeeping: the counts stay right without it.
        }
    }

    public void Compact() => _db.Run(session => session.Execute(CompactSql));
}
