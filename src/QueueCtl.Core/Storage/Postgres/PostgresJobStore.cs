using QueueCtl.Jobs;

namespace QueueCtl.Storage.Postgres;

/// <summary>
/// What users do to jobs: enqueue, find, remove, retry from the DLQ, cancel, and count. Every change a user makes is
/// fenced on the state it was decided on (… AND state = @expected): when a worker moved the job meanwhile, the
/// decision is taken again on the new state.
/// </summary>
internal sealed class PostgresJobStore : IJobStore
{
    private const int FenceTries = 5;

    // One statement per batch: the arrays become rows; a taken id is skipped and left out of what comes back.
    private const string InsertSql =
        "INSERT INTO {s}.jobs (id, kind, command, arguments, working_directory, max_retries, timeout_ms, run_at, created_at, updated_at, queue, priority, tags) " +
        "SELECT id, kind, command, arguments, wd, max_retries, timeout_ms, run_at, @now, @now, queue, priority, " +
        "CASE WHEN tags IS NULL THEN NULL ELSE ARRAY(SELECT jsonb_array_elements_text(tags::jsonb)) END " +
        "FROM unnest(@ids, @kinds, @commands, @arguments, @wds, @max_retries, @timeouts, @run_ats, @queues, @priorities, @tags) " +
        "AS t (id, kind, command, arguments, wd, max_retries, timeout_ms, run_at, queue, priority, tags) " +
        "ON CONFLICT ((lower(id))) DO NOTHING RETURNING id";

    private readonly PostgresDriver _db;

    public PostgresJobStore(PostgresDriver db) => _db = db;

    /// <summary>
    /// Writes a batch in one transaction and a few round trips. A spec that is invalid or whose id exists (in the queue
    /// or earlier in the batch) is refused on its own; a generated id that collides is generated again.
    /// </summary>
    public IReadOnlyList<EnqueueResult> Enqueue(IReadOnlyList<JobSpec> specs)
    {
        var results = new EnqueueResult?[specs.Count];
        var defaults = _db.Config;
        _db.Run(session =>
        {
            Array.Clear(results);
            var now = session.Now;
            var pending = new List<int>();
            var inBatch = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            for (var i = 0; i < specs.Count; i++)
            {
                try
                {
                    specs[i].Validate();
                }
                catch (QueueException ex)
                {
                    results[i] = new EnqueueResult(specs[i], null, ex);
                    continue;
                }
                if (specs[i].Id is { } id && !inBatch.Add(id))
                {
                    results[i] = new EnqueueResult(specs[i], null, Exists(id));
                    continue;
                }
                pending.Add(i);
            }
            var ids = new string[specs.Count];
            for (var tries = 0; pending.Count > 0; tries++)
            {
                foreach (var i in pending) ids[i] = specs[i].Id ?? JobIds.New(_db.Clock);
                // Rows go in in the batch's order, which is the order they are claimed in. Two batches sharing ids in
                // opposite orders can deadlock on them: PostgreSQL ends one, and the driver runs it again.
                var inserted = Insert(session, specs, pending, ids, defaults.MaxRetries, now);
                var retry = new List<int>();
                foreach (var i in pending)
                {
                    if (inserted.Remove(ids[i]))
                        results[i] = new EnqueueResult(specs[i], Stored(specs[i], ids[i], defaults.MaxRetries, now), null);
                    else if (specs[i].Id is null && tries < 5)
                        retry.Add(i);
                    else
                        results[i] = new EnqueueResult(specs[i], null, Exists(ids[i]));
                }
                pending = retry;
            }
            if (results.Any(r => r?.Job is not null)) session.Notify(QueueChanges.Ready);
        });
        _db.Counts.Wrote();
        return results!;
    }

    private static HashSet<string> Insert(PgSession session, IReadOnlyList<JobSpec> specs, List<int> rows, string[] ids, int defaultMaxRetries, long now)
    {
        var returned = session.Query(InsertSql, r => r.GetString(0),
            Pg.Texts("ids", rows.Select(i => (string?)ids[i]).ToArray()),
            Pg.Texts("kinds", rows.Select(i => (string?)specs[i].Kind.ToString()).ToArray()),
            Pg.Texts("commands", rows.Select(i => (string?)specs[i].Command).ToArray()),
            Pg.Texts("arguments", rows.Select(i => specs[i].Arguments).ToArray()),
            Pg.Texts("wds", rows.Select(i => specs[i].WorkingDirectory).ToArray()),
            Pg.Ints("max_retries", rows.Select(i => specs[i].MaxRetries ?? defaultMaxRetries)),
            Pg.Bigs("timeouts", rows.Select(i => TimeoutMs(specs[i]))),
            Pg.Bigs("run_ats", rows.Select(i => (long?)RunAtMs(specs[i], now))),
            Pg.Texts("queues", rows.Select(i => (string?)QueueOf(specs[i])).ToArray()),
            Pg.Ints("priorities", rows.Select(i => specs[i].Priority)),
            // Arrays of arrays do not nest in unnest: each job's tags travel as one JSON text.
            Pg.Texts("tags", rows.Select(i => JobTags.ToJson(specs[i].Tags)).ToArray()),
            Pg.Big("now", now));
        return new HashSet<string>(returned, StringComparer.OrdinalIgnoreCase);
    }

    private static string QueueOf(JobSpec spec) => spec.Queue is null ? QueueNames.Default : QueueNames.Normalize(spec.Queue);

    private static long? TimeoutMs(JobSpec spec) => spec.Timeout is { } t ? Math.Max(1, (long)t.TotalMilliseconds) : null;

    private static long RunAtMs(JobSpec spec, long now) => spec.RunAt is { } at ? Math.Max(UnixTime.ToMs(at), 0) : now;

    private QueueJob Stored(JobSpec spec, string id, int defaultMaxRetries, long now) => new()
    {
        Id = id, Kind = spec.Kind, Command = spec.Command, Arguments = spec.Arguments,
        WorkingDirectory = spec.WorkingDirectory, State = QueueJobState.Pending, MaxRetries = spec.MaxRetries ?? defaultMaxRetries,
        Timeout = spec.Timeout, RunAt = UnixTime.FromMs(RunAtMs(spec, now)), CreatedAt = UnixTime.FromMs(now),
        UpdatedAt = UnixTime.FromMs(now), Database = _db.Address, Queue = QueueOf(spec), Priority = spec.Priority, Tags = JobTags.Distinct(spec.Tags),
    };

    private static QueueException Exists(string id) =>
        new(QueueErrorCode.JobAlreadyExists, $"A job with id '{id}' already exists; it was left as it is.");

    public QueueJob? Find(string id) => _db.Run(session => Find(session, id));

    private QueueJob? Find(PgSession session, string id) =>
        session.QueryBound($"SELECT {PgJobRows.Columns} FROM {{s}}.jobs WHERE lower(id) = lower(@id)", PgJobRows.Jobs(_db.Address),
            Pg.Text("id", id)).FirstOrDefault();

    public IReadOnlyList<QueueJob> FindMany(IReadOnlyCollection<string> ids)
    {
        var found = new List<QueueJob>();
        foreach (var chunk in ids.Chunk(1000))
        {
            found.AddRange(_db.Run(session => session.QueryBound(
                $"SELECT {PgJobRows.Columns} FROM {{s}}.jobs WHERE lower(id) = ANY (SELECT lower(x) FROM unnest(@ids) AS x)",
                PgJobRows.Jobs(_db.Address), Pg.Texts("ids", chunk))));
        }
        return found;
    }

    /// <summary>
    /// Jobs matching any of <paramref name="ids"/> (wildcards allowed; all jobs when empty) and any of
    /// <paramref name="states"/> (all when empty), oldest first, fetched a page at a time (one transaction each).
    /// </summary>
    public IEnumerable<QueueJob> List(IReadOnlyList<WildcardFilter>? ids = null, IReadOnlyList<QueueJobState>? states = null,
        int? first = null, int pageSize = 1000, IReadOnlyList<string>? queues = null, IReadOnlyList<string>? tags = null)
    {
        var where = new List<string> { "seq > @after" };
        var wantedTags = JobTags.Filter(tags);
        if (wantedTags is not null) where.Add("EXISTS (SELECT 1 FROM unnest(tags) AS t (tag) WHERE lower(t.tag) = ANY (@tags))");
        var queueNames = QueueNames.NormalizeAll(queues)?.ToArray();
        if (queueNames is not null) where.Add("queue = ANY (@queues)");
        var stateNames = states is { Count: > 0 } ? states.Distinct().Select(s => s.ToString()).ToArray() : null;
        if (stateNames is not null) where.Add("state = ANY (@states)");
        string[]? literals = null, likes = null;
        if (ids is { Count: > 0 })
        {
            literals = ids.Where(f => !f.HasWildcards).Select(f => f.Literal!).ToArray();
            likes = ids.Where(f => f.HasWildcards).Select(f => f.Like).ToArray();
            // LIKE's default escape character is '\', as WildcardFilter.Like expects.
            where.Add("(lower(id) = ANY (SELECT lower(x) FROM unnest(@literals) AS x) OR id ILIKE ANY (@likes))");
        }
        var sql = $"SELECT {PgJobRows.Columns} FROM {{s}}.jobs WHERE {string.Join(" AND ", where)} ORDER BY seq LIMIT @limit";
        var needsExactMatch = ids?.Any(f => f.HasWildcards) == true;
        long after = 0;
        var remaining = first ?? int.MaxValue;
        while (remaining > 0)
        {
            var limit = Math.Min(pageSize, remaining);
            var parameters = new List<Npgsql.NpgsqlParameter> { Pg.Big("after", after), Pg.Int("limit", limit) };
            if (stateNames is not null) parameters.Add(Pg.Texts("states", stateNames));
            if (queueNames is not null) parameters.Add(Pg.Texts("queues", queueNames));
            if (wantedTags is not null) parameters.Add(Pg.Texts("tags", wantedTags));
            if (literals is not null) parameters.Add(Pg.Texts("literals", literals));
            if (likes is not null) parameters.Add(Pg.Texts("likes", likes));
            var page = _db.Run(session => session.QueryBound(sql, PgJobRows.WithSeq(_db.Address), parameters.ToArray()));
            foreach (var (seq, job, _) in page)
            {
                after = seq;
                if (needsExactMatch && !ids!.Any(f => f.Literal is not null
                        ? string.Equals(f.Literal, job.Id, StringComparison.OrdinalIgnoreCase)
                        : f.IsMatch(job.Id)))
                    continue;
                remaining--;
                yield return job;
                if (remaining == 0) yield break;
            }
            if (page.Count < limit) yield break;
        }
    }

    /// <summary>Deletes a job and its output (by cascade). A Processing job is refused unless <paramref name="force"/>.</summary>
    public QueueJob Remove(string id, bool force = false) => Fenced(id, (session, job) =>
    {
        if (job.State == QueueJobState.Processing && !force)
            throw StoredRows.RemoveRunning(job);
        var deleted = session.Execute("DELETE FROM {s}.jobs WHERE lower(id) = lower(@id) AND state = @state",
            Pg.Text("id", job.Id), Pg.Text("state", job.State.ToString()));
        if (deleted == 0) return null;
        session.Notify(QueueChanges.Finished);
        return job;
    });

    /// <summary>Moves a Dead job back to Pending with its attempts reset; its error history is kept.</summary>
    public QueueJob RetryDead(string id) => Fenced(id, (session, job) =>
    {
        if (job.State != QueueJobState.Dead)
            throw StoredRows.RetryNotDead(job);
        var moved = session.QueryBound(
            "UPDATE {s}.jobs SET state = 'Pending', attempts = 0, run_at = @now, updated_at = @now, finished_at = NULL, " +
            $"cancel_requested = false, lease_until = NULL WHERE lower(id) = lower(@id) AND state = 'Dead' RETURNING {PgJobRows.Columns}",
            PgJobRows.Jobs(_db.Address), Pg.Text("id", job.Id), Pg.Big("now", session.Now)).SingleOrDefault();
        if (moved is not null) session.Notify(QueueChanges.Ready);
        return moved;
    });

    /// <summary>
    /// Cancels a job: a Pending or Failed job becomes Cancelled at once; a Processing job is flagged, and its worker
    /// kills the run and records it as Cancelled. Final jobs are refused.
    /// </summary>
    public QueueJob Cancel(string id) => Fenced(id, (session, job) =>
    {
        var changed = job.State switch
        {
            QueueJobState.Pending or QueueJobState.Failed => session.QueryBound(
                "UPDATE {s}.jobs SET state = 'Cancelled', finished_at = @now, updated_at = @now, " +
                "last_error = coalesce(last_error, 'Cancelled before it ran.') " +
                $"WHERE lower(id) = lower(@id) AND state = @state RETURNING {PgJobRows.Columns}",
                PgJobRows.Jobs(_db.Address), Pg.Text("id", job.Id), Pg.Text("state", job.State.ToString()), Pg.Big("now", session.Now)).SingleOrDefault(),
            QueueJobState.Processing => session.QueryBound(
                "UPDATE {s}.jobs SET cancel_requested = true, updated_at = @now " +
                $"WHERE lower(id) = lower(@id) AND state = 'Processing' AND runs = @run RETURNING {PgJobRows.Columns}",
                PgJobRows.Jobs(_db.Address), Pg.Text("id", job.Id), Pg.Int("run", job.Runs), Pg.Big("now", session.Now)).SingleOrDefault(),
            _ => throw StoredRows.CancelFinal(job),
        };
        if (changed is not null) session.Notify(job.State == QueueJobState.Processing ? QueueChanges.Control : QueueChanges.Finished);
        return changed;
    });

    /// <summary>
    /// Reads the job, lets <paramref name="change"/> decide on its state and apply a change fenced on that state; a
    /// null result means the state moved in between, and the decision is taken again on a fresh read.
    /// </summary>
    private QueueJob Fenced(string id, Func<PgSession, QueueJob, QueueJob?> change) => _db.Run(session =>
    {
        for (var tries = 1; ; tries++)
        {
            var job = Find(session, id) ?? throw JobStoreExtensions.NotFound(id);
            if (change(session, job) is { } done) return done;
            if (tries >= FenceTries)
                throw new QueueException(QueueErrorCode.InvalidJobState,
                    $"Job '{job.Id}' kept changing state while it was being changed (last seen {job.State}); try again.");
        }
    });

    public QueueStatus Status() => _db.Counts.Status();

    public IReadOnlyList<string> RecentTags(int jobs) => _db.Run(session => session.Query(
            "SELECT t.tag FROM (SELECT seq, tags FROM {s}.jobs ORDER BY seq DESC LIMIT @n) j, unnest(j.tags) WITH ORDINALITY AS t (tag, i) " +
            "ORDER BY j.seq DESC, t.i",
            r => r.GetString(0), Pg.Int("n", jobs)))
        .Distinct(StringComparer.OrdinalIgnoreCase).Order(StringComparer.OrdinalIgnoreCase).ToList();

    public IReadOnlyList<string> WaitingQueues() => _db.Run(session => session.Query(WaitingQueuesSql, r => r.GetString(0)));

    // A loose index scan of jobs_claim_queue: each step jumps to the next queue name.
    private const string WaitingQueuesSql =
        "WITH RECURSIVE q (name) AS (" +
        "SELECT (SELECT queue FROM {s}.jobs WHERE state IN ('Pending', 'Failed') ORDER BY queue LIMIT 1) UNION ALL " +
        "SELECT (SELECT queue FROM {s}.jobs WHERE state IN ('Pending', 'Failed') AND queue > q.name ORDER BY queue LIMIT 1) FROM q WHERE q.name IS NOT NULL) " +
        "SELECT name FROM q WHERE name IS NOT NULL";

    public bool HasUnfinishedJobs(IReadOnlyList<string>? queues = null) =>
        QueueNames.NormalizeAll(queues) is { } names
            ? _db.Run(session => session.Scalar<bool>(
                "SELECT EXISTS (SELECT 1 FROM {s}.jobs WHERE queue = ANY (@q) AND state IN ('Pending', 'Failed')) " +
                "OR EXISTS (SELECT 1 FROM {s}.jobs WHERE state = 'Processing' AND queue = ANY (@q))", Pg.Texts("q", names.ToArray())))
            : _db.Counts.HasUnfinishedJobs();
}
