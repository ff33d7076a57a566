namespace QueueCtl.Storage.Postgres;

/// <summary>Reads and writes the queues table. Resuming a queue wakes the listeners, as new jobs do.</summary>
internal sealed class PostgresNamedQueueStore(PostgresDriver db) : INamedQueueStore
{
    public NamedQueue Get(string name)
    {
        var normalized = QueueNames.Normalize(name);
        return db.Run(session => session.Query("SELECT paused, changed_at FROM {s}.queues WHERE name = @name",
                r => Row(normalized, r.GetBoolean(0), r.GetInt64(1)), Pg.Text("name", normalized)).FirstOrDefault())
            ?? new NamedQueue { Name = normalized, Database = db.Address };
    }

    public NamedQueue SetPaused(string name, bool paused)
    {
        var normalized = QueueNames.Normalize(name);
        // Committed before this returns; a claim statement that starts afterwards sees it (READ COMMITTED).
        return db.Run(session =>
        {
            var row = session.Query(
                "INSERT INTO {s}.queues (name, paused, changed_at) VALUES (@name, @paused, @now) " +
                "ON CONFLICT (name) DO UPDATE SET paused = excluded.paused, changed_at = excluded.changed_at RETURNING paused, changed_at",
                r => Row(normalized, r.GetBoolean(0), r.GetInt64(1)), Pg.Text("name", normalized), Pg.Bool("paused", paused),
                Pg.Big("now", session.Now)).Single();
            if (!paused) session.Notify(QueueChanges.Ready);
            return row;
        });
    }

    public IReadOnlyList<NamedQueue> List() => db.Run(session => session.Query(ListSql, r => new NamedQueue
    {
        Name = r.GetString(0), IsPaused = r.GetBoolean(1), ChangedAt = r.IsDBNull(2) ? null : UnixTime.FromMs(r.GetInt64(2)),
        Pending = r.GetInt64(3), Failed = r.GetInt64(4), Processing = r.GetInt64(5), Database = db.Address,
    }));

    // The queues with waiting jobs by a loose index scan of jobs_claim_queue (one probe per queue), then the counts.
    private const string ListSql =
        "WITH RECURSIVE waiting (name) AS (" +
        "SELECT (SELECT queue FROM {s}.jobs WHERE state IN ('Pending', 'Failed') ORDER BY queue LIMIT 1) UNION ALL " +
        "SELECT (SELECT queue FROM {s}.jobs WHERE state IN ('Pending', 'Failed') AND queue > w.name ORDER BY queue LIMIT 1) FROM waiting w WHERE w.name IS NOT NULL), " +
        "names (name) AS (SELECT name FROM waiting WHERE name IS NOT NULL UNION SELECT name FROM {s}.queues " +
        "UNION SELECT queue FROM {s}.jobs WHERE state = 'Processing' UNION SELECT 'default') " +
        "SELECT n.name, coalesce(q.paused, false), q.changed_at, " +
        "(SELECT count(*) FROM {s}.jobs WHERE queue = n.name AND state IN ('Pending', 'Failed') AND state = 'Pending'), " +
        "(SELECT count(*) FROM {s}.jobs WHERE queue = n.name AND state IN ('Pending', 'Failed') AND state = 'Failed'), " +
        "(SELECT count(*) FROM {s}.jobs WHERE state = 'Processing' AND queue = n.name) " +
        "FROM names n LEFT JOIN {s}.queues q ON q.name = n.name ORDER BY n.name";

    private NamedQueue Row(string name, bool paused, long changedAt) =>
        new() { Name = name, IsPaused = paused, ChangedAt = UnixTime.FromMs(changedAt), Database = db.Address };
}
