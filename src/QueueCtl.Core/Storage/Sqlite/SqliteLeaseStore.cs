using QueueCtl.Jobs;

namespace QueueCtl.Storage.Sqlite;

/// <summary>
/// What workers do to jobs: claim, renew leases, finish runs, and recover jobs whose worker has gone. Every change is
/// one statement fenced on the expected state and run, so two workers can never both own or finish a job.
/// </summary>
internal sealed class SqliteLeaseStore : ILeaseStore
{
    private const string ClaimUpdate =
        "UPDATE jobs SET state = 'Processing', attempts = attempts + 1, runs = runs + 1, worker_id = $worker, " +
        "started_at = $now, updated_at = $now, lease_until = $lease, finished_at = NULL, exit_code = NULL, cancel_requested = 0 " +
        "WHERE seq IN ({0}) RETURNING " + JobRows.Columns + ", lease_until";

    /// <summary>The claim's order (jobs_claim, jobs_claim_queue): the highest priority, the earliest due, the oldest.</summary>
    private const string Order = "ORDER BY priority DESC, run_at, seq";

    /// <summary>Paused queues are read in the claim's own transaction (under the write lock), so a pause is exact.</summary>
    private const string NotPaused = "queue NOT IN (SELECT name FROM queues WHERE paused = 1)";

    private const string Due = "state IN ('Pending', 'Failed') AND run_at <= $now AND " + NotPaused;

    private const string FinishSql =
        "UPDATE jobs SET state = $state, run_at = coalesce($retry_at, run_at), finished_at = $finished_at, updated_at = $now, " +
        "exit_code = $exit_code, last_error = CASE WHEN $error IS NULL THEN last_error ELSE $error END, " +
        "errors = CASE WHEN $error IS NULL THEN errors ELSE json_insert(coalesce(errors, '[]'), '$[#]', " +
        "json_object('at', $now, 'attempt', attempts, 'run', runs, 'error', $error, 'exitCode', $exit_code)) END, " +
        "lease_until = NULL, cancel_requested = 0 " +
        "WHERE seq = $seq AND runs = $run AND worker_id = $worker AND state = 'Processing'";

    private const string SaveOutputSql =
        "INSERT OR REPLACE INTO job_output (job_seq, run, format, stdout, stderr, stdout_dropped, stderr_dropped) " +
        "VALUES ($seq, $run, $format, $stdout, $stderr, $stdout_dropped, $stderr_dropped)";

    private readonly SqliteDriver _db;

    private readonly IReadOnlyList<string>? _queues;
    private readonly string _claimSql;
    private readonly string _nextDueSql;
    private readonly string? _queuesJson;

    /// <param name="queues">The queues this worker takes jobs from; null for every queue.</param>
    public SqliteLeaseStore(SqliteDriver db, string workerId, IReadOnlyList<string>? queues = null)
    {
        _db = db;
        WorkerId = workerId;
        _queues = QueueNames.NormalizeAll(queues);
        _claimSql = string.Format(System.Globalization.CultureInfo.InvariantCulture, ClaimUpdate, Candidates(_queues?.Count));
        _queuesJson = _queues is null ? null : System.Text.Json.JsonSerializer.Serialize(_queues);
        _nextDueSql = $"SELECT min(run_at) FROM jobs INDEXED BY jobs_ready WHERE state IN ('Pending', 'Failed') AND {NotPaused}" +
            (_queues is null ? "" : " AND queue IN (SELECT value FROM json_each($queues))");
    }

    public string WorkerId { get; }

    /// <summary>
    /// The seqs to claim, in the claim's order. Every queue: one walk of jobs_claim. Some queues: the first $n of each
    /// queue from jobs_claim_queue, then the first $n of those, so a queue's share costs the same however many jobs
    /// the other queues hold.
    /// </summary>
    private static string Candidates(int? queues)
    {
        if (queues is null) return $"SELECT seq FROM jobs INDEXED BY jobs_claim WHERE {Due} {Order} LIMIT $n";
        if (queues == 1) return $"SELECT seq FROM jobs INDEXED BY jobs_claim_queue WHERE queue = $q0 AND {Due} {Order} LIMIT $n";
        var each = Enumerable.Range(0, queues.Value).Select(i =>
            $"SELECT * FROM (SELECT seq, priority, run_at FROM jobs INDEXED BY jobs_claim_queue WHERE queue = $q{i} AND {Due} {Order} LIMIT $n)");
        return $"SELECT seq FROM ({string.Join(" UNION ALL ", each)}) {Order} LIMIT $n";
    }

    /// <summary>
    /// One transaction: records the finished runs, then claims up to <paramref name="count"/> due jobs. Combining the
    /// two halves the commits a busy worker makes. When fewer jobs were due than asked for, reports when the next one is.
    /// </summary>
    public ClaimCycle FinishAndClaim(IReadOnlyList<FinishedRun> finished, int count) => _db.Write(() =>
    {
        var now = _db.NowMs;
        var policy = RetryPolicy.From(_db.Config);
        var accepted = finished.Select(f => ApplyOutcome(f.Claim.Seq, f.Claim.Run, f.Claim.WorkerId, f.Claim.Job, f.Outcome, now, policy)).ToList();
        CountFinished(finished, accepted);
        var claimed = count <= 0 ? new List<ClaimedJob>() : _db.Query(_claimSql,
                r => new ClaimedJob(JobRows.Seq(r), JobRows.Read(r, _db.Path), UnixTime.FromMs(r.GetInt64(JobRows.Next))),
                ClaimParameters(now, count))
            .OrderByDescending(c => c.Job.Priority).ThenBy(c => c.Job.RunAt).ThenBy(c => c.Seq).ToList();
        TimeSpan? nextDue = null;
        if (claimed.Count < count
            && _db.Scalar<long?>(_nextDueSql, _queuesJson is null ? Array.Empty<(string, object?)>() : new (string, object?)[] { ("$queues", _queuesJson) }) is { } due)
            nextDue = TimeSpan.FromMilliseconds(Math.Max(0, due - now));
        return new ClaimCycle(claimed, accepted, nextDue);
    });

    /// <summary>Extends the leases of running jobs; reports the ones this worker no longer holds and cancel requests.</summary>
    public IReadOnlyList<LeaseRenewal> Renew(IReadOnlyList<ClaimedJob> running)
    {
        if (running.Count == 0) return Array.Empty<LeaseRenewal>();
        return _db.Write(() =>
        {
            var now = _db.NowMs;
            var lease = now + LeaseMs;
            return running.Select(c =>
            {
                var cancel = _db.Scalar<long?>(
                    "UPDATE jobs SET lease_until = $lease WHERE seq = $seq AND runs = $run AND worker_id = $worker AND state = 'Processing' " +
                    "RETURNING cancel_requested",
                    ("$lease", lease), ("$seq", c.Seq), ("$run", c.Run), ("$worker", c.WorkerId));
                return new LeaseRenewal(c, cancel is not null, UnixTime.FromMs(lease), cancel == 1);
            }).ToList();
        });
    }

    /// <summary>Seqs of this worker's running jobs that a user asked to cancel.</summary>
    public IReadOnlyList<long> CancelRequests() => _db.Read(() => _db.Query(
        "SELECT seq FROM jobs WHERE state = 'Processing' AND worker_id = $worker AND cancel_requested = 1",
        r => r.GetInt64(0), ("$worker", WorkerId)));

    /// <summary>
    /// Puts back every Processing job whose lease has expired: the lost run counts as a failed attempt (normal retry
    /// and DLQ rules apply), or the job becomes Cancelled when a cancel was pending. Returns the ids recovered.
    /// <paramref name="held"/> names this worker's own jobs it still runs or holds a finished result for: their lease
    /// may have run out while the database was unavailable, and only another worker's recovery may take them.
    /// <paramref name="stopOwners"/> is called with the workers whose jobs are about to be put back, inside the write
    /// transaction: until it commits nobody can claim them, so whatever still runs them can be stopped first. It returns
    /// the workers whose jobs must be left as they are for now (their runs could not be stopped yet).
    /// </summary>
    public IReadOnlyList<string> RecoverExpired(IReadOnlyCollection<long>? held = null,
        Func<IReadOnlyList<string>, IReadOnlyCollection<string>>? stopOwners = null) => _db.Write<IReadOnlyList<string>>(() =>
    {
        var now = _db.NowMs;
        var policy = RetryPolicy.From(_db.Config);
        var expired = _db.Query(
            $"SELECT {JobRows.Columns}, lease_until FROM jobs WHERE state = 'Processing' AND lease_until < $now " +
            "AND NOT (worker_id = $self AND seq IN (SELECT value FROM json_each($held)))",
            r => (Seq: JobRows.Seq(r), Job: JobRows.Read(r, _db.Path), Lease: r.GetInt64(JobRows.Next)),
            ("$now", now), ("$self", WorkerId), ("$held", "[" + string.Join(",", held ?? Array.Empty<long>()) + "]"));
        if (expired.Count == 0) return Array.Empty<string>();
        var leave = stopOwners?.Invoke(expired.Select(e => e.Job.WorkerId!).Distinct(StringComparer.OrdinalIgnoreCase).ToList())
            ?? Array.Empty<string>();
        var recovered = new List<string>();
        foreach (var (seq, job, lease) in expired)
        {
            if (leave.Contains(job.WorkerId!, StringComparer.OrdinalIgnoreCase)) continue;
            var outcome = job.CancelRequested
                ? RunOutcome.Cancel($"Cancelled; worker '{job.WorkerId}' was lost before it could stop the run.")
                : RunOutcome.Failure($"Worker '{job.WorkerId}' was lost: its lease expired at {UnixTime.FromMs(lease):u} without a heartbeat.");
            if (ApplyOutcome(seq, job.Runs, job.WorkerId!, job, outcome, now, policy)) recovered.Add(job.Id);
        }
        return recovered;
    });

    /// <summary>Expires the leases held by a worker known to be dead, so <see cref="RecoverExpired"/> takes them at once.</summary>
    public int ExpireLeasesOf(string deadWorkerId) => _db.Write(() => _db.Execute(
        "UPDATE jobs SET lease_until = $expired WHERE state = 'Processing' AND worker_id = $worker",
        ("$expired", _db.NowMs - 1), ("$worker", deadWorkerId)));

    /// <summary>Adds the accepted runs to this worker's counters, in the same transaction that records them.</summary>
    private void CountFinished(IReadOnlyList<FinishedRun> finished, IReadOnlyList<bool> accepted)
    {
        long done = 0, failed = 0;
        for (var i = 0; i < finished.Count; i++)
        {
            if (!accepted[i]) continue;
            if (finished[i].Outcome.Kind == RunResultKind.Succeeded) done++;
            else failed++;
        }
        if (done + failed > 0)
            _db.Execute("UPDATE workers SET jobs_done = jobs_done + $done, jobs_failed = jobs_failed + $failed WHERE id = $worker",
                ("$done", done), ("$failed", failed), ("$worker", WorkerId));
    }

    private (string, object?)[] ClaimParameters(long now, int count)
    {
        var list = new List<(string, object?)> { ("$worker", WorkerId), ("$now", now), ("$lease", now + LeaseMs), ("$n", count) };
        if (_queues is not null) list.AddRange(_queues.Select((q, i) => ($"$q{i}", (object?)q)));
        return list.ToArray();
    }

    private long LeaseMs => (long)_db.Config.LeaseDuration.TotalMilliseconds;

    private bool ApplyOutcome(long seq, int run, string workerId, QueueJob job, RunOutcome outcome, long now, RetryPolicy policy)
    {
        var next = JobTransition.After(outcome.Kind, job.Attempts, job.MaxRetries, UnixTime.FromMs(now), policy);
        var changed = _db.Execute(FinishSql,
            ("$state", next.State.ToString()), ("$retry_at", next.RetryAt is { } r ? UnixTime.ToMs(r) : null),
            ("$finished_at", next.IsFinal ? now : null), ("$now", now), ("$exit_code", outcome.ExitCode),
            ("$error", outcome.Kind == RunResultKind.Succeeded ? null : outcome.Error ?? "The run failed."),
            ("$seq", seq), ("$run", run), ("$worker", workerId)) == 1;
        if (changed && outcome.Output is { IsEmpty: false } o)
            _db.Execute(SaveOutputSql, ("$seq", seq), ("$run", run), ("$format", o.Format.ToString()), ("$stdout", o.StandardOutput),
                ("$stderr", o.StandardError), ("$stdout_dropped", o.DroppedOutput), ("$stderr_dropped", o.DroppedError));
        return changed;
    }
}
