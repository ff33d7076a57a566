using QueueCtl.Jobs;

namespace QueueCtl.Storage.Postgres;

/// <summary>
/// What one worker does to jobs: claim, renew leases, finish runs, and recover jobs whose worker has gone. Every change
/// is fenced on the expected state and run ((seq, run, worker) and state = Processing), so two workers can never both
/// own or finish a job; claims and recoveries skip rows another transaction holds (FOR UPDATE SKIP LOCKED), so
/// workers never queue behind each other and never take the same job.
/// </summary>
internal sealed class PostgresLeaseStore : ILeaseStore
{
    private static readonly string ClaimSql =
        "WITH picked AS MATERIALIZED (SELECT seq FROM {s}.jobs WHERE state IN ('Pending', 'Failed') AND run_at <= @now " +
        "ORDER BY run_at, seq LIMIT @n FOR UPDATE SKIP LOCKED) " +
        "UPDATE {s}.jobs SET state = 'Processing', attempts = attempts + 1, runs = runs + 1, worker_id = @worker, " +
        "started_at = @now, updated_at = @now, lease_until = @lease, finished_at = NULL, exit_code = NULL, cancel_requested = false " +
        "FROM picked WHERE jobs.seq = picked.seq RETURNING " + PgJobRows.JobsColumns;

    // The error history gains one element per failure, as SQLite's json_insert(errors, '$[#]', …) does.
    private const string FinishSql =
        "WITH f AS (UPDATE {s}.jobs SET state = @state, run_at = coalesce(@retry_at, run_at), finished_at = @finished_at, updated_at = @now, " +
        "exit_code = @exit_code, last_error = CASE WHEN @error IS NULL THEN last_error ELSE @error END, " +
        "errors = CASE WHEN @error IS NULL THEN errors ELSE coalesce(errors, '[]'::jsonb) || jsonb_build_array(jsonb_build_object(" +
        "'at', @now, 'attempt', attempts, 'run', runs, 'error', @error, 'exitCode', @exit_code)) END, " +
        "lease_until = NULL, cancel_requested = false " +
        "WHERE seq = @seq AND runs = @run AND worker_id = @worker AND state = 'Processing' RETURNING seq), " +
        "o AS (INSERT INTO {s}.job_output (job_seq, run, format, stdout, stderr, stdout_dropped, stderr_dropped) " +
        "SELECT seq, @run, @format, @stdout, @stderr, @stdout_dropped, @stderr_dropped FROM f WHERE @format IS NOT NULL " +
        "ON CONFLICT (job_seq, run) DO UPDATE SET format = excluded.format, stdout = excluded.stdout, stderr = excluded.stderr, " +
        "stdout_dropped = excluded.stdout_dropped, stderr_dropped = excluded.stderr_dropped) " +
        "SELECT count(*) FROM f";

    private readonly PostgresDriver _db;

    public PostgresLeaseStore(PostgresDriver db, string workerId)
    {
        _db = db;
        WorkerId = workerId;
    }

    public string WorkerId { get; }

    private long LeaseMs => (long)_db.Config.LeaseDuration.TotalMilliseconds;

    /// <summary>
    /// One transaction: records the finished runs, then claims up to <paramref name="count"/> due jobs. When fewer jobs
    /// were due than asked for, reports when the next one is.
    /// </summary>
    public ClaimCycle FinishAndClaim(IReadOnlyList<FinishedRun> finished, int count)
    {
        var cycle = _db.Run(session =>
        {
            var now = session.Now;
            var policy = RetryPolicy.From(_db.Config);
            var accepted = finished.Select(f => ApplyOutcome(session, f.Claim.Seq, f.Claim.Run, f.Claim.WorkerId, f.Claim.Job, f.Outcome, now, policy)).ToList();
            CountFinished(session, finished, accepted);
            if (accepted.Any(a => a)) session.Notify();
            var claimed = count <= 0 ? new List<ClaimedJob>() : session.QueryBound(ClaimSql, PgJobRows.WithSeq(_db.Address),
                    Pg.Text("worker", WorkerId), Pg.Big("now", now), Pg.Big("lease", now + LeaseMs), Pg.Int("n", count))
                .Select(c => new ClaimedJob(c.Seq, c.Job, UnixTime.FromMs(c.LeaseUntil)))
                .OrderBy(c => c.Job.RunAt).ThenBy(c => c.Seq).ToList();
            TimeSpan? nextDue = null;
            if (claimed.Count < count
                && session.Scalar<long?>("SELECT min(run_at) FROM {s}.jobs WHERE state IN ('Pending', 'Failed')") is { } due)
                nextDue = TimeSpan.FromMilliseconds(Math.Max(0, due - now));
            return new ClaimCycle(claimed, accepted, nextDue);
        });
        if (finished.Count > 0 || cycle.Claimed.Count > 0) _db.Counts.Wrote();
        return cycle;
    }

    /// <summary>Extends the leases of running jobs, in one statement; reports the ones this worker no longer holds and cancel requests.</summary>
    public IReadOnlyList<LeaseRenewal> Renew(IReadOnlyList<ClaimedJob> running)
    {
        if (running.Count == 0) return Array.Empty<LeaseRenewal>();
        return _db.Run(session =>
        {
            var lease = session.Now + LeaseMs;
            var kept = session.Query(
                    "UPDATE {s}.jobs SET lease_until = @lease FROM unnest(@seqs, @runs, @workers) AS r (seq, run, worker) " +
                    "WHERE jobs.seq = r.seq AND jobs.runs = r.run AND jobs.worker_id = r.worker AND jobs.state = 'Processing' " +
                    "RETURNING jobs.seq, jobs.cancel_requested",
                    r => (Seq: r.GetInt64(0), Cancel: r.GetBoolean(1)),
                    Pg.Big("lease", lease), Pg.Bigs("seqs", running.Select(c => (long?)c.Seq)), Pg.Ints("runs", running.Select(c => c.Run)),
                    Pg.Texts("workers", running.Select(c => (string?)c.WorkerId).ToArray()))
                .ToDictionary(x => x.Seq, x => x.Cancel);
            return running.Select(c => new LeaseRenewal(c, kept.ContainsKey(c.Seq), UnixTime.FromMs(lease),
                kept.TryGetValue(c.Seq, out var cancel) && cancel)).ToList();
        });
    }

    public IReadOnlyList<long> CancelRequests() => _db.Run(session => session.Query(
        "SELECT seq FROM {s}.jobs WHERE state = 'Processing' AND worker_id = @worker AND cancel_requested",
        r => r.GetInt64(0), Pg.Text("worker", WorkerId)));

    /// <summary>
    /// Puts back every Processing job whose lease has expired (by the server's clock): the lost run counts as a failed
    /// attempt (normal retry and DLQ rules apply), or the job becomes Cancelled when a cancel was pending. The expired
    /// rows are locked as they are read, skipping rows another rescuer holds, so two rescuers never both recover one
    /// job; <paramref name="stopOwners"/> runs while they are locked, before any of them can be claimed again.
    /// </summary>
    public IReadOnlyList<string> RecoverExpired(IReadOnlyCollection<long>? held = null,
        Func<IReadOnlyList<string>, IReadOnlyCollection<string>>? stopOwners = null)
    {
        var recovered = _db.Run<IReadOnlyList<string>>(session =>
        {
            var now = session.Now;
            var policy = RetryPolicy.From(_db.Config);
            var expired = session.QueryBound(
                $"SELECT {PgJobRows.Columns} FROM {{s}}.jobs WHERE state = 'Processing' AND lease_until < @now " +
                "AND NOT (worker_id = @self AND seq = ANY (@held)) ORDER BY seq FOR UPDATE SKIP LOCKED",
                PgJobRows.WithSeq(_db.Address), Pg.Big("now", now), Pg.Text("self", WorkerId),
                Pg.Bigs("held", (held ?? Array.Empty<long>()).Select(h => (long?)h)));
            if (expired.Count == 0) return Array.Empty<string>();
            var leave = stopOwners?.Invoke(expired.Select(e => e.Job.WorkerId!).Distinct(StringComparer.OrdinalIgnoreCase).ToList())
                ?? Array.Empty<string>();
            var done = new List<string>();
            foreach (var (seq, job, lease) in expired)
            {
                if (leave.Contains(job.WorkerId!, StringComparer.OrdinalIgnoreCase)) continue;
                var outcome = job.CancelRequested
                    ? RunOutcome.Cancel($"Cancelled; worker '{job.WorkerId}' was lost before it could stop the run.")
                    : RunOutcome.Failure($"Worker '{job.WorkerId}' was lost: its lease expired at {UnixTime.FromMs(lease):u} without a heartbeat.");
                if (ApplyOutcome(session, seq, job.Runs, job.WorkerId!, job, outcome, now, policy)) done.Add(job.Id);
            }
            if (done.Count > 0) session.Notify();
            return done;
        });
        if (recovered.Count > 0) _db.Counts.Wrote();
        return recovered;
    }

    public int ExpireLeasesOf(string deadWorkerId) => _db.Run(session => session.Execute(
        "UPDATE {s}.jobs SET lease_until = @expired WHERE state = 'Processing' AND worker_id = @worker",
        Pg.Big("expired", session.Now - 1), Pg.Text("worker", deadWorkerId)));

    /// <summary>Adds the accepted runs to this worker's counters, in the same transaction that records them.</summary>
    private void CountFinished(PgSession session, IReadOnlyList<FinishedRun> finished, IReadOnlyList<bool> accepted)
    {
        long done = 0, failed = 0;
        for (var i = 0; i < finished.Count; i++)
        {
            if (!accepted[i]) continue;
            if (finished[i].Outcome.Kind == RunResultKind.Succeeded) done++;
            else failed++;
        }
        if (done + failed > 0)
            session.Execute("UPDATE {s}.workers SET jobs_done = jobs_done + @done, jobs_failed = jobs_failed + @failed WHERE lower(id) = lower(@worker)",
                Pg.Big("done", done), Pg.Big("failed", failed), Pg.Text("worker", WorkerId));
    }

    /// <summary>
    /// Records one run's end, fenced on (seq, run, worker, Processing), with its output in the same statement. The
    /// backoff is counted from the transaction's server time.
    /// </summary>
    private static bool ApplyOutcome(PgSession session, long seq, int run, string workerId, QueueJob job, RunOutcome outcome, long now, RetryPolicy policy)
    {
        var next = JobTransition.After(outcome.Kind, job.Attempts, job.MaxRetries, UnixTime.FromMs(now), policy);
        var output = outcome.Output is { IsEmpty: false } o ? o : null;
        return session.Scalar<long>(FinishSql,
            Pg.Text("state", next.State.ToString()), Pg.Big("retry_at", next.RetryAt is { } r ? UnixTime.ToMs(r) : null),
            Pg.Big("finished_at", next.IsFinal ? now : null), Pg.Big("now", now), Pg.Int("exit_code", outcome.ExitCode),
            Pg.Text("error", outcome.Kind == RunResultKind.Succeeded ? null : outcome.Error ?? "The run failed."),
            Pg.Big("seq", seq), Pg.Int("run", run), Pg.Text("worker", workerId),
            Pg.Text("format", output?.Format.ToString()), Pg.Text("stdout", output?.StandardOutput), Pg.Text("stderr", output?.StandardError),
            Pg.Big("stdout_dropped", output?.DroppedOutput), Pg.Big("stderr_dropped", output?.DroppedError)) == 1;
    }
}
