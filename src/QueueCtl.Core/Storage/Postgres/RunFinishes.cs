using QueueCtl.Jobs;

namespace QueueCtl.Storage.Postgres;

/// <summary>One run's end to record: the fencing token it was claimed with, the job as claimed, and how it ended.</summary>
internal sealed record RunEnd(long Seq, int Run, string WorkerId, QueueJob Job, RunOutcome Outcome);

/// <summary>
/// Records the ends of many runs in one statement: each is fenced on (seq, run, worker, Processing), moves its job as
/// <see cref="JobTransition"/> says (the backoff counted from the transaction's server time), appends a failure to the
/// error history as SQLite's json_insert(errors, '$[#]', …) does, and stores its output. Optionally adds the accepted
/// runs to a worker's counters in the same statement. Listeners hear of jobs that ended (Finished) and of jobs due
/// again (Ready).
/// </summary>
internal static class RunFinishes
{
    // The rows are found by primary key: jobs.seq = ANY (@seqs) beside the join, as the planner cannot see into unnest,
    // and the state test written so that no partial index matches it. Otherwise, on statistics that lag a busy queue,
    // the planner picks jobs_leases or jobs_state and wades through thousands of dead entries for a handful of rows.
    private const string Sql =
        "WITH f AS (SELECT * FROM unnest(@seqs, @runs, @workers, @states, @retry_ins, @finals, @exit_codes, @errors, " +
        "@formats, @stdouts, @stderrs, @stdout_dropped, @stderr_dropped) AS f (seq, run, worker, state, retry_in, final, " +
        "exit_code, error, format, stdout, stderr, stdout_dropped, stderr_dropped)), " +
        "u AS (UPDATE {s}.jobs SET state = f.state, run_at = coalesce({now} + f.retry_in, jobs.run_at), " +
        "finished_at = CASE WHEN f.final = 1 THEN {now} END, updated_at = {now}, exit_code = f.exit_code, last_error = coalesce(f.error, jobs.last_error), " +
        "errors = CASE WHEN f.error IS NULL THEN jobs.errors ELSE coalesce(jobs.errors, '[]'::jsonb) || jsonb_build_array(jsonb_build_object(" +
        "'at', {now}, 'attempt', jobs.attempts, 'run', jobs.runs, 'error', f.error, 'exitCode', f.exit_code)) END, " +
        "lease_until = NULL, cancel_requested = false " +
        "FROM f WHERE jobs.seq = ANY (@seqs) AND jobs.seq = f.seq AND jobs.runs = f.run AND jobs.worker_id = f.worker AND (jobs.state = 'Processing') IS TRUE " +
        "RETURNING jobs.seq, f.state), " +
        "o AS (INSERT INTO {s}.job_output (job_seq, run, format, stdout, stderr, stdout_dropped, stderr_dropped) " +
        "SELECT f.seq, f.run, f.format, f.stdout, f.stderr, f.stdout_dropped, f.stderr_dropped FROM f JOIN u ON u.seq = f.seq " +
        "WHERE f.format IS NOT NULL ON CONFLICT (job_seq, run) DO UPDATE SET format = excluded.format, stdout = excluded.stdout, " +
        "stderr = excluded.stderr, stdout_dropped = excluded.stdout_dropped, stderr_dropped = excluded.stderr_dropped), " +
        "c AS (SELECT count(*) FILTER (WHERE state = 'Completed') AS done, count(*) FILTER (WHERE state <> 'Completed') AS failed FROM u), " +
        "w AS (UPDATE {s}.workers SET jobs_done = jobs_done + c.done, jobs_failed = jobs_failed + c.failed FROM c " +
        "WHERE lower(workers.id) = lower(@count_for) AND c.done + c.failed > 0) " +
        "SELECT seq FROM u";

    /// <summary>
    /// Records <paramref name="ends"/>; returns, for each, whether it was accepted (false: the run is no longer that
    /// worker's). A run listed twice is recorded once. <paramref name="countFor"/> names the worker whose done and
    /// failed counters the accepted runs add to (a success counts as done), or null.
    /// </summary>
    public static bool[] Record(PgSession session, IReadOnlyList<RunEnd> ends, RetryPolicy policy, string? countFor)
    {
        if (ends.Count == 0) return new bool[0];
        var pending = Prepare(session, ends, policy, countFor);
        using var batch = session.Batch(pending.Command);
        using var reader = batch.ExecuteReader();
        return pending.Read(reader);
    }

    /// <summary>
    /// The statement that records <paramref name="ends"/>, to run alone or in a batch with others (one round trip),
    /// and what reads its result. Listeners are notified of the kinds the ends would cause if accepted: a rejected end
    /// costs at most a spurious wake-up.
    /// </summary>
    public static PendingFinish Prepare(PgSession session, IReadOnlyList<RunEnd> ends, RetryPolicy policy, string? countFor)
    {
        var first = ends.Select((e, i) => (e, i)).GroupBy(x => x.e.Seq).Select(g => g.First()).ToList();
        // Counted from the epoch, a retry's due time is its delay: the server adds the transaction's time ({now}), which
        // a statement sent in the same batch as the transaction's start cannot know beforehand.
        var next = first.Select(x => JobTransition.After(x.e.Outcome.Kind, x.e.Job.Attempts, x.e.Job.MaxRetries, DateTime.UnixEpoch, policy)).ToList();
        var outputs = first.Select(x => x.e.Outcome.Output is { IsEmpty: false } o ? o : null).ToList();
        var command = session.BatchCommand(Sql,
            Pg.Bigs("seqs", first.Select(x => (long?)x.e.Seq)),
            Pg.Ints("runs", first.Select(x => x.e.Run)),
            Pg.Texts("workers", first.Select(x => (string?)x.e.WorkerId).ToArray()),
            Pg.Texts("states", next.Select(n => (string?)n.State.ToString()).ToArray()),
            Pg.Bigs("retry_ins", next.Select(n => n.RetryAt is { } r ? UnixTime.ToMs(r) : (long?)null)),
            Pg.Ints("finals", next.Select(n => n.IsFinal ? 1 : 0)),
            Pg.Ints("exit_codes", first.Select(x => x.e.Outcome.ExitCode)),
            Pg.Texts("errors", first.Select(x => x.e.Outcome.Kind == RunResultKind.Succeeded ? null : x.e.Outcome.Error ?? "The run failed.").ToArray()),
            Pg.Texts("formats", outputs.Select(o => o?.Format.ToString()).ToArray()),
            Pg.Texts("stdouts", outputs.Select(o => o?.StandardOutput).ToArray()),
            Pg.Texts("stderrs", outputs.Select(o => o?.StandardError).ToArray()),
            Pg.Bigs("stdout_dropped", outputs.Select(o => o?.DroppedOutput)),
            Pg.Bigs("stderr_dropped", outputs.Select(o => o?.DroppedError)),
            Pg.Text("count_for", countFor));
        session.Notify(next.Aggregate(QueueChanges.None, (kinds, n) => kinds | (n.IsFinal ? QueueChanges.Finished : QueueChanges.Ready)));
        return new PendingFinish(command, ends.Count, first.Select(x => (x.e.Seq, x.i)).ToList());
    }

    /// <summary>A prepared finish: its statement, and the reading of its result (the accepted seqs) into one flag per end.</summary>
    internal sealed class PendingFinish(Npgsql.NpgsqlBatchCommand command, int count, IReadOnlyList<(long Seq, int Index)> first)
    {
        public Npgsql.NpgsqlBatchCommand Command { get; } = command;

        /// <summary>Reads the current result of <paramref name="reader"/>; leaves it there.</summary>
        public bool[] Read(Npgsql.NpgsqlDataReader reader)
        {
            var done = new HashSet<long>();
            while (reader.Read()) done.Add(reader.GetInt64(0));
            var accepted = new bool[count];
            foreach (var (seq, index) in first) accepted[index] = done.Contains(seq);
            return accepted;
        }
    }
}
