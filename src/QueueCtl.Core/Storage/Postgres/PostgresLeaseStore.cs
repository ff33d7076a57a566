using Npgsql;
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
    /// <summary>
    /// Paused queues, read by the claim statement itself: a pause committed before it started is seen. A probe of
    /// queues_paused per candidate row (a handful before the LIMIT) rather than NOT IN, whose hashed subplan is built
    /// on every claim: in A/B drains NOT IN cost a third to a half of the drain rate.
    /// </summary>
    private const string NotPaused = "NOT EXISTS (SELECT 1 FROM {s}.queues p WHERE p.name = jobs.queue AND p.paused)";

    private const string Due = "state IN ('Pending', 'Failed') AND run_at <= {now} AND " + NotPaused;

    /// <summary>The claim's order (jobs_claim, jobs_claim_queue): the highest priority, the earliest due, the oldest.</summary>
    private const string Order = "ORDER BY priority DESC, run_at, seq";

    /// <summary>
    /// Every queue: one walk of jobs_claim. Some queues: the first @n of each queue from jobs_claim_queue, locked as
    /// they are read, then the first @n of those (the few locked beyond them are let go at commit), so a queue's share
    /// costs the same however many jobs the other queues hold.
    /// </summary>
    private static readonly string PickAll =
        $"SELECT seq FROM {{s}}.jobs WHERE {Due} {Order} LIMIT @n FOR UPDATE SKIP LOCKED";

    private static readonly string PickSome =
        "SELECT c.seq FROM unnest(@queues) AS q (name) CROSS JOIN LATERAL (" +
        $"SELECT seq, priority, run_at FROM {{s}}.jobs WHERE queue = q.name AND {Due} {Order} LIMIT @n FOR UPDATE SKIP LOCKED) c " +
        "ORDER BY c.priority DESC, c.run_at, c.seq LIMIT @n";

    private const string ClaimSql =
        "WITH picked AS MATERIALIZED ({0}) " +
        "UPDATE {{s}}.jobs SET state = 'Processing', attempts = attempts + 1, runs = runs + 1, worker_id = @worker, " +
        "started_at = {{now}}, updated_at = {{now}}, lease_until = {{now}} + @lease_ms, finished_at = NULL, exit_code = NULL, cancel_requested = false " +
        "FROM picked WHERE jobs.seq = picked.seq RETURNING {1}";

    private readonly PostgresDriver _db;

    private readonly string[]? _queues;
    private readonly string _claimSql;
    private readonly string _nextDueSql;

    /// <param name="queues">The queues this worker takes jobs from; null for every queue.</param>
    public PostgresLeaseStore(PostgresDriver db, string workerId, IReadOnlyList<string>? queues = null)
    {
        _db = db;
        WorkerId = workerId;
        _queues = QueueNames.NormalizeAll(queues)?.ToArray();
        _claimSql = string.Format(System.Globalization.CultureInfo.InvariantCulture, ClaimSql, _queues is null ? PickAll : PickSome, PgJobRows.JobsColumns);
        _nextDueSql = $"SELECT min(run_at) - {{now}} FROM {{s}}.jobs WHERE state IN ('Pending', 'Failed') AND {NotPaused}" + (_queues is null ? "" : " AND queue = ANY (@queues)");
    }

    public string WorkerId { get; }

    private long LeaseMs => (long)_db.Config.LeaseDuration.TotalMilliseconds;

    /// <summary>
    /// One transaction: records the finished runs, then claims up to <paramref name="count"/> due jobs, and notifies,
    /// all in one round trip. When fewer jobs were due than asked for, reports when the next one is.
    /// </summary>
    public ClaimCycle FinishAndClaim(IReadOnlyList<FinishedRun> finished, int count)
    {
        var cycle = _db.RunOneBatch(session =>
        {
            var finish = finished.Count == 0 ? null : RunFinishes.Prepare(session,
                finished.Select(f => new RunEnd(f.Claim.Seq, f.Claim.Run, f.Claim.WorkerId, f.Claim.Job, f.Outcome)).ToList(),
                RetryPolicy.From(_db.Config), WorkerId);
            var claim = count <= 0 ? null : session.BatchCommand(_claimSql, ClaimParameters(count));
            return session.RunAsOne(new[] { finish?.Command, claim }.OfType<NpgsqlBatchCommand>().ToList(), reader =>
            {
                var accepted = Array.Empty<bool>();
                var rows = new List<ClaimedJob>();
                if (finish is not null)
                {
                    accepted = finish.Read(reader);
                    reader.NextResult();
                }
                if (claim is not null)
                {
                    var map = PgJobRows.WithSeq(_db.Address)(reader);
                    while (reader.Read())
                    {
                        var c = map();
                        rows.Add(new ClaimedJob(c.Seq, c.Job, UnixTime.FromMs(c.LeaseUntil)));
                    }
                }
                return (Claimed: rows.OrderByDescending(c => c.Job.Priority).ThenBy(c => c.Job.RunAt).ThenBy(c => c.Seq).ToList(), Accepted: accepted);
            });
        });
        // When fewer jobs were due than asked for, when the next one is; read apart, as it only tells the worker when to look again.
        // The cycle has committed: a failure here must not hide what it claimed and recorded (the claimed jobs would sit
        // unstarted until their leases ran out). Without the hint the worker looks again at its poll interval.
        TimeSpan? nextDue = null;
        if (count > 0 && cycle.Claimed.Count < count)
        {
            try
            {
                nextDue = _db.RunOneBatch(session => session.RunAsOne(new[] { session.BatchCommand(_nextDueSql, QueueParameters()) },
                    reader => reader.Read() && !reader.IsDBNull(0) ? TimeSpan.FromMilliseconds(Math.Max(0, reader.GetInt64(0))) : (TimeSpan?)null));
            }
            catch (QueueException)
            {
                nextDue = null;
            }
        }
        if (finished.Count > 0 || cycle.Claimed.Count > 0) _db.Counts.Wrote();
        return new ClaimCycle(cycle.Claimed, cycle.Accepted, nextDue);
    }

    private Npgsql.NpgsqlParameter[] ClaimParameters(int count)
    {
        var list = new List<Npgsql.NpgsqlParameter> { Pg.Text("worker", WorkerId), Pg.Big("lease_ms", LeaseMs), Pg.Int("n", count) };
        list.AddRange(QueueParameters());
        return list.ToArray();
    }

    private Npgsql.NpgsqlParameter[] QueueParameters() =>
        _queues is null ? Array.Empty<Npgsql.NpgsqlParameter>() : new[] { Pg.Texts("queues", _queues) };

    /// <summary>Extends the leases of running jobs, in one statement; reports the ones this worker no longer holds and cancel requests.</summary>
    public IReadOnlyList<LeaseRenewal> Renew(IReadOnlyList<ClaimedJob> running)
    {
        if (running.Count == 0) return Array.Empty<LeaseRenewal>();
        // Found by primary key, as in RunFinishes.
        return _db.RunByIndex(session =>
        {
            var lease = session.Now + LeaseMs;
            var kept = session.Query(
                    "UPDATE {s}.jobs SET lease_until = @lease FROM unnest(@seqs, @runs, @workers) AS r (seq, run, worker) " +
                    "WHERE jobs.seq = ANY (@seqs) AND jobs.seq = r.seq AND jobs.runs = r.run AND jobs.worker_id = r.worker AND (jobs.state = 'Processing') IS TRUE " +
                    "RETURNING jobs.seq, jobs.cancel_requested",
                    r => (Seq: r.GetInt64(0), Cancel: r.GetBoolean(1)),
                    Pg.Big("lease", lease), Pg.Bigs("seqs", running.Select(c => (long?)c.Seq)), Pg.Ints("runs", running.Select(c => c.Run)),
                    Pg.Texts("workers", running.Select(c => (string?)c.WorkerId).ToArray()))
                .ToDictionary(x => x.Seq, x => x.Cancel);
            return running.Select(c => new LeaseRenewal(c, kept.ContainsKey(c.Seq), UnixTime.FromMs(lease),
                kept.TryGetValue(c.Seq, out var cancel) && cancel)).ToList();
        });
    }

    public IReadOnlyList<long> CancelRequests() => _db.RunByIndex(session => session.Query(
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
        var recovered = _db.RunByIndex<IReadOnlyList<string>>(session =>
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
            var ends = expired.Where(e => !leave.Contains(e.Job.WorkerId!, StringComparer.OrdinalIgnoreCase)).Select(e => new RunEnd(
                e.Seq, e.Job.Runs, e.Job.WorkerId!, e.Job, e.Job.CancelRequested
                    ? RunOutcome.Cancel($"Cancelled; worker '{e.Job.WorkerId}' was lost before it could stop the run.")
                    : RunOutcome.Failure($"Worker '{e.Job.WorkerId}' was lost: its lease expired at {UnixTime.FromMs(e.LeaseUntil):u} without a heartbeat.")))
                .ToList();
            var accepted = RunFinishes.Record(session, ends, policy, countFor: null);
            var done = ends.Where((_, i) => accepted[i]).Select(e => e.Job.Id).ToList();
            return done;
        });
        if (recovered.Count > 0) _db.Counts.Wrote();
        return recovered;
    }

    public int ExpireLeasesOf(string deadWorkerId) => _db.RunByIndex(session => session.Execute(
        "UPDATE {s}.jobs SET lease_until = @expired WHERE state = 'Processing' AND worker_id = @worker",
        Pg.Big("expired", session.Now - 1), Pg.Text("worker", deadWorkerId)));
}
