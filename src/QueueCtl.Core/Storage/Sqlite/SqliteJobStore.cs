using QueueCtl.Jobs;

namespace QueueCtl.Storage.Sqlite;

/// <summary>What users do to jobs: enqueue, find, remove, retry from the DLQ, cancel, and count.</summary>
internal sealed class SqliteJobStore : IJobStore
{
    // Two shapes of insert: the common one (a command with the default timeout, queue and priority) binds six values
    // instead of eleven.
    private const string InsertCommand =
        "INSERT INTO jobs (id, command, working_directory, max_retries, run_at, created_at, updated_at) " +
        "VALUES ($id, $command, $wd, $max, $run_at, $now, $now) ON CONFLICT (id) DO NOTHING";

    private const string InsertAny =
        "INSERT INTO jobs (id, kind, command, arguments, working_directory, max_retries, timeout_ms, run_at, created_at, updated_at, queue, priority, tags) " +
        "VALUES ($id, $kind, $command, $arguments, $wd, $max, $timeout, $run_at, $now, $now, $queue, $priority, $tags) ON CONFLICT (id) DO NOTHING";

    private readonly SqliteDriver _db;

    public SqliteJobStore(SqliteDriver db) => _db = db;

    /// <summary>
    /// Writes a batch in one transaction. A spec that is invalid or whose id exists is refused on its own (its result
    /// carries the error); the rest are stored. Nothing is half-written: a failure of the database rolls back the batch.
    /// </summary>
    public IReadOnlyList<EnqueueResult> Enqueue(IReadOnlyList<JobSpec> specs)
    {
        var results = new EnqueueResult[specs.Count];
        var defaults = _db.Config;
        _db.Write(() =>
        {
            var now = _db.NowMs;
            var stored = 0;
            for (var i = 0; i < specs.Count; i++)
            {
                results[i] = InsertOne(specs[i], defaults.MaxRetries, now);
                if (results[i].Job is not null) stored++;
            }
            // Inserts keep job_counts here, once per batch; updates and deletes keep it through triggers.
            if (stored > 0) _db.Execute("UPDATE job_counts SET n = n + $n WHERE state = 'Pending'", ("$n", stored));
        });
        return results;
    }

    private EnqueueResult InsertOne(JobSpec spec, int defaultMaxRetries, long now)
    {
        try
        {
            spec.Validate();
        }
        catch (QueueException ex)
        {
            return new EnqueueResult(spec, null, ex);
        }
        var maxRetries = spec.MaxRetries ?? defaultMaxRetries;
        var runAt = spec.RunAt is { } at ? Math.Max(UnixTime.ToMs(at), 0) : now;
        var timeoutMs = spec.Timeout is { } t ? Math.Max(1, (long)t.TotalMilliseconds) : (long?)null;
        var queue = spec.Queue is null ? QueueNames.Default : QueueNames.Normalize(spec.Queue);
        var tags = JobTags.ToJson(spec.Tags);
        for (var tries = 0; ; tries++)
        {
            var id = spec.Id ?? JobIds.New(_db.Clock);
            var inserted = spec.Kind == QueueJobKind.Command && spec.Arguments is null && timeoutMs is null
                && queue == QueueNames.Default && spec.Priority == 0 && tags is null
                ? _db.Execute(InsertCommand, ("$id", id), ("$command", spec.Command), ("$wd", spec.WorkingDirectory),
                    ("$max", maxRetries), ("$run_at", runAt), ("$now", now))
                : _db.Execute(InsertAny, ("$id", id), ("$kind", spec.Kind.ToString()), ("$command", spec.Command),
                    ("$arguments", spec.Arguments), ("$wd", spec.WorkingDirectory), ("$max", maxRetries), ("$timeout", timeoutMs),
                    ("$run_at", runAt), ("$now", now), ("$queue", queue), ("$priority", spec.Priority), ("$tags", tags));
            if (inserted == 1)
            {
                return new EnqueueResult(spec, new QueueJob
                {
                    Id = id, Kind = spec.Kind, Command = spec.Command, Arguments = spec.Arguments,
                    WorkingDirectory = spec.WorkingDirectory, State = QueueJobState.Pending, MaxRetries = maxRetries,
                    Timeout = spec.Timeout, RunAt = UnixTime.FromMs(runAt), CreatedAt = UnixTime.FromMs(now),
                    UpdatedAt = UnixTime.FromMs(now), Database = _db.Path, Queue = queue, Priority = spec.Priority, Tags = JobTags.Distinct(spec.Tags),
                }, null);
            }
            if (spec.Id is not null || tries >= 5)
                return new EnqueueResult(spec, null, new QueueException(QueueErrorCode.JobAlreadyExists,
                    $"A job with id '{id}' already exists; it was left as it is."));
        }
    }

    /// <summary>The job with this exact id (ids are case-insensitive), or null.</summary>
    public QueueJob? Find(string id) =>
        _db.Read(() => _db.Query($"SELECT {JobRows.Columns} FROM jobs WHERE id = $id", r => JobRows.Read(r, _db.Path), ("$id", id))
            .FirstOrDefault());

    /// <summary>The jobs with these exact ids that exist, in no particular order.</summary>
    /// <remarks>One statement for any number of ids (a JSON array), so a long wait over a shrinking list prepares one.</remarks>
    public IReadOnlyList<QueueJob> FindMany(IReadOnlyCollection<string> ids) => ids.Count == 0 ? Array.Empty<QueueJob>() : _db.Read(() =>
        _db.Query($"SELECT {JobRows.Columns} FROM jobs WHERE id IN (SELECT value FROM json_each($ids))",
            r => JobRows.Read(r, _db.Path), ("$ids", System.Text.Json.JsonSerializer.Serialize(ids))));

    /// <summary>
    /// Jobs matching any of <paramref name="ids"/> (wildcards allowed; all jobs when empty) and any of
    /// <paramref name="states"/> (all when empty) in any of <paramref name="queues"/> (all when null), oldest first,
    /// fetched a page at a time.
    /// </summary>
    public IEnumerable<QueueJob> List(IReadOnlyList<WildcardFilter>? ids = null, IReadOnlyList<QueueJobState>? states = null,
        int? first = null, int pageSize = 1000, IReadOnlyList<string>? queues = null, IReadOnlyList<string>? tags = null)
    {
        var where = new List<string> { "seq > $after" };
        var parameters = new List<(string, object?)>();
        if (JobTags.Filter(tags) is { } wanted)
        {
            where.Add("tags IS NOT NULL AND EXISTS (SELECT 1 FROM json_each(tags) WHERE lower(value) IN (SELECT value FROM json_each($tags)))");
            parameters.Add(("$tags", System.Text.Json.JsonSerializer.Serialize(wanted)));
        }
        if (QueueNames.NormalizeAll(queues) is { } names)
        {
            where.Add("queue IN (SELECT value FROM json_each($queues))");
            parameters.Add(("$queues", System.Text.Json.JsonSerializer.Serialize(names)));
        }
        if (states is { Count: > 0 })
        {
            where.Add($"state IN ({string.Join(", ", states.Distinct().Select((s, i) => $"$s{i}"))})");
            parameters.AddRange(states.Distinct().Select((s, i) => ($"$s{i}", (object?)s.ToString())));
        }
        if (ids is { Count: > 0 })
        {
            // Exact ids as one JSON array, however many (an OR per id hits SQLite's expression depth limit of 1000);
            // patterns as one LIKE each.
            var literals = ids.Where(f => !f.HasWildcards).Select(f => f.Literal!).ToList();
            var patterns = ids.Where(f => f.HasWildcards).ToList();
            var any = new List<string>();
            if (literals.Count > 0)
            {
                any.Add("id IN (SELECT value FROM json_each($literals))");
                parameters.Add(("$literals", System.Text.Json.JsonSerializer.Serialize(literals)));
            }
            any.AddRange(patterns.Select((_, i) => $"id LIKE $p{i} ESCAPE '\\'"));
            parameters.AddRange(patterns.Select((f, i) => ($"$p{i}", (object?)f.Like)));
            where.Add("(" + string.Join(" OR ", any) + ")");
        }
        var sql = $"SELECT {JobRows.Columns} FROM jobs WHERE {string.Join(" AND ", where)} ORDER BY seq LIMIT $limit";
        var needsExactMatch = ids?.Any(f => f.HasWildcards) == true;
        long after = 0;
        var remaining = first ?? int.MaxValue;
        while (remaining > 0)
        {
            var limit = Math.Min(pageSize, remaining);
            var page = _db.Read(() => _db.Query(sql, r => (Seq: JobRows.Seq(r), Job: JobRows.Read(r, _db.Path)),
                parameters.Append(("$after", after)).Append(("$limit", limit)).ToArray()));
            foreach (var (seq, job) in page)
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

    /// <summary>Deletes a job and its output. A Processing job is refused unless <paramref name="force"/>.</summary>
    public QueueJob Remove(string id, bool force = false) => _db.Write(() =>
    {
        var job = this.Get(id);
        if (job.State == QueueJobState.Processing && !force)
            throw StoredRows.RemoveRunning(job);
        // Fenced on the state just read, like every change: the transaction's lock is not what makes it right.
        if (_db.Execute("DELETE FROM jobs WHERE id = $id AND state = $state AND runs = $runs",
                ("$id", job.Id), ("$state", job.State.ToString()), ("$runs", job.Runs)) != 1)
            throw Moved(job);
        return job;
    });

    /// <summary>Moves a Dead job back to Pending with its attempts reset; its error history is kept.</summary>
    public QueueJob RetryDead(string id) => _db.Write(() =>
    {
        var job = this.Get(id);
        if (job.State != QueueJobState.Dead)
            throw StoredRows.RetryNotDead(job);
        return ReturnToPending(job.Id);
    });

    private QueueJob ReturnToPending(string id) =>
        _db.Query(
            "UPDATE jobs SET state = 'Pending', attempts = 0, run_at = $now, updated_at = $now, finished_at = NULL, " +
            $"cancel_requested = 0, lease_until = NULL WHERE id = $id AND state = 'Dead' RETURNING {JobRows.Columns}",
            r => JobRows.Read(r, _db.Path), ("$id", id), ("$now", _db.NowMs)).SingleOrDefault()
        ?? throw Moved(this.Get(id));

    private static QueueException Moved(QueueJob now) =>
        new(QueueErrorCode.InvalidJobState, $"Job '{now.Id}' changed while it was being changed (it is {now.State} now); nothing was done.");

    /// <summary>
    /// Cancels a job: a Pending or Failed job becomes Cancelled at once; a Processing job is flagged, and its worker
    /// kills the run and records it as Cancelled. Final jobs are refused.
    /// </summary>
    public QueueJob Cancel(string id) => _db.Write(() =>
    {
        var job = this.Get(id);
        var now = _db.NowMs;
        return job.State switch
        {
            QueueJobState.Pending or QueueJobState.Failed => _db.Query(
                "UPDATE jobs SET state = 'Cancelled', finished_at = $now, updated_at = $now, " +
                $"last_error = coalesce(last_error, 'Cancelled before it ran.') WHERE id = $id AND state IN ('Pending', 'Failed') RETURNING {JobRows.Columns}",
                r => JobRows.Read(r, _db.Path), ("$id", job.Id), ("$now", now)).SingleOrDefault() ?? throw Moved(this.Get(id)),
            QueueJobState.Processing => _db.Query(
                $"UPDATE jobs SET cancel_requested = 1, updated_at = $now WHERE id = $id AND state = 'Processing' AND runs = $runs RETURNING {JobRows.Columns}",
                r => JobRows.Read(r, _db.Path), ("$id", job.Id), ("$now", now), ("$runs", job.Runs)).SingleOrDefault() ?? throw Moved(this.Get(id)),
            _ => throw StoredRows.CancelFinal(job),
        };
    });

    /// <summary>Counts per state (kept by triggers), live workers, and the age of the oldest pending job.</summary>
    public QueueStatus Status() => _db.Read(() =>
    {
        var counts = _db.Query("SELECT state, n FROM job_counts", r => (State: r.GetString(0), N: r.GetInt64(1)))
            .ToDictionary(x => x.State, x => x.N);
        var now = _db.NowMs;
        var oldest = _db.Scalar<long?>("SELECT created_at FROM jobs WHERE state = 'Pending' ORDER BY seq LIMIT 1");
        var workers = _db.Scalar<long>(
            "SELECT count(*) FROM workers WHERE state IN ('Starting', 'Running', 'Stopping') AND heartbeat_at >= $since",
            ("$since", now - (long)_db.Config.LeaseDuration.TotalMilliseconds));
        return StoredRows.Status(counts, workers, oldest, now, _db.Path);
    });

    public IReadOnlyList<string> RecentTags(int jobs) => _db.Read(() => _db.Query(
            "SELECT t.value FROM (SELECT seq, tags FROM jobs ORDER BY seq DESC LIMIT $n) j, json_each(j.tags) t WHERE j.tags IS NOT NULL " +
            "ORDER BY j.seq DESC, t.key",
            r => r.GetString(0), ("$n", jobs)))
        .Distinct(StringComparer.OrdinalIgnoreCase).Order(StringComparer.OrdinalIgnoreCase).ToList();

    public IReadOnlyList<string> WaitingQueues() => _db.Read(() => _db.Query(WaitingQueuesSql, r => r.GetString(0)));

    // A loose index scan of jobs_claim_queue: each step jumps to the next queue name.
    private const string WaitingQueuesSql =
        "WITH RECURSIVE q (name) AS (" +
        "SELECT (SELECT queue FROM jobs INDEXED BY jobs_claim_queue WHERE state IN ('Pending', 'Failed') ORDER BY queue LIMIT 1) UNION ALL " +
        "SELECT (SELECT queue FROM jobs INDEXED BY jobs_claim_queue WHERE state IN ('Pending', 'Failed') AND queue > q.name ORDER BY queue LIMIT 1) FROM q WHERE q.name IS NOT NULL) " +
        "SELECT name FROM q WHERE name IS NOT NULL";

    /// <summary>True while any job is Pending, Failed (awaiting a retry) or Processing in any of <paramref name="queues"/> (all when null).</summary>
    public bool HasUnfinishedJobs(IReadOnlyList<string>? queues = null) => _db.Read(() =>
        QueueNames.NormalizeAll(queues) is { } names
            ? _db.Scalar<long>(
                "SELECT EXISTS (SELECT 1 FROM jobs INDEXED BY jobs_claim_queue WHERE queue IN (SELECT value FROM json_each($q)) AND state IN ('Pending', 'Failed')) " +
                "OR EXISTS (SELECT 1 FROM jobs INDEXED BY jobs_leases WHERE state = 'Processing' AND queue IN (SELECT value FROM json_each($q)))",
                ("$q", System.Text.Json.JsonSerializer.Serialize(names))) != 0
            : _db.Scalar<long>("SELECT sum(n) FROM job_counts WHERE state IN ('Pending', 'Failed', 'Processing')") > 0);
}
