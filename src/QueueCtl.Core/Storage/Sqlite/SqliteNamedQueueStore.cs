namespace QueueCtl.Storage.Sqlite;

/// <summary>Reads and writes the queues table.</summary>
internal sealed class SqliteNamedQueueStore(SqliteDriver db) : INamedQueueStore
{
    public NamedQueue Get(string name)
    {
        var normalized = QueueNames.Normalize(name);
        return db.Read(() => db.Query("SELECT paused, changed_at FROM queues WHERE name = $name",
                r => Row(normalized, r.GetInt64(0) != 0, r.GetInt64(1)), ("$name", normalized)).FirstOrDefault())
            ?? new NamedQueue { Name = normalized, Database = db.Address };
    }

    public NamedQueue SetPaused(string name, bool paused)
    {
        var normalized = QueueNames.Normalize(name);
        // The write lock orders this against every claim: a claim after it reads the row.
        return db.Write(() => db.Query(
            "INSERT INTO queues (name, paused, changed_at) VALUES ($name, $paused, $now) " +
            "ON CONFLICT (name) DO UPDATE SET paused = excluded.paused, changed_at = excluded.changed_at RETURNING paused, changed_at",
            r => Row(normalized, r.GetInt64(0) != 0, r.GetInt64(1)), ("$name", normalized), ("$paused", paused ? 1 : 0), ("$now", db.NowMs)).Single());
    }

    public IReadOnlyList<NamedQueue> List() => db.Read(() => db.Query(ListSql, r => new NamedQueue
    {
        Name = r.GetString(0), IsPaused = r.GetInt64(1) != 0, ChangedAt = r.IsDBNull(2) ? null : UnixTime.FromMs(r.GetInt64(2)),
        Pending = r.GetInt64(3), Failed = r.GetInt64(4), Processing = r.GetInt64(5), Database = db.Address,
    }));

    // The queues with waiting jobs by a loose index scan of jobs_claim_queue (one probe per queue), then the counts.
    private const string ListSql =
        "WITH RECURSIVE waiting (name) AS (" +
        "SELECT (SELECT queue FROM jobs INDEXED BY jobs_claim_queue WHERE state IN ('Pending', 'Failed') ORDER BY queue LIMIT 1) UNION ALL " +
        "SELECT (SELECT queue FROM jobs INDEXED BY jobs_claim_queue WHERE state IN ('Pending', 'Failed') AND queue > w.name ORDER BY queue LIMIT 1) FROM waiting w WHERE w.name IS NOT NULL), " +
        "names (name) AS (SELECT name FROM waiting WHERE name IS NOT NULL UNION SELECT name FROM queues " +
        "UNION SELECT queue FROM jobs INDEXED BY jobs_leases WHERE state = 'Processing' UNION SELECT 'default') " +
        "SELECT n.name, coalesce(q.paused, 0), q.changed_at, " +
        "(SELECT count(*) FROM jobs INDEXED BY jobs_claim_queue WHERE queue = n.name AND state IN ('Pending', 'Failed') AND state = 'Pending'), " +
        "(SELECT count(*) FROM jobs INDEXED BY jobs_claim_queue WHERE queue = n.name AND state IN ('Pending', 'Failed') AND state = 'Failed'), " +
        "(SELECT count(*) FROM jobs INDEXED BY jobs_leases WHERE state = 'Processing' AND queue = n.name) " +
        "FROM names n LEFT JOIN queues q ON q.name = n.name ORDER BY n.name";

    private NamedQueue Row(string name, bool paused, long changedAt) =>
        new() { Name = name, IsPaused = paused, ChangedAt = UnixTime.FromMs(changedAt), Database = db.Address };
}
