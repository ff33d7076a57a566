using Npgsql;

namespace QueueCtl.Storage.Postgres;

/// <summary>
/// The workers table: registration, heartbeats, stop requests, and who is alive (heartbeat ages by the server's
/// clock). A process-gone check applies only to workers of this host. Worker ids are case-insensitive, as in SQLite.
/// </summary>
internal sealed class PostgresWorkerRegistry : IWorkerRegistry
{
    private const string LiveStates = "('Starting', 'Running', 'Stopping')";
    private readonly PostgresDriver _db;

    public PostgresWorkerRegistry(PostgresDriver db) => _db = db;

    /// <summary>Records a worker about to start or starting; wakes the queue's listeners.</summary>
    public void Register(string id, QueueWorkerState state, int processId, DateTime? processStartedAt, int concurrency,
        string? logPath, string? version) => _db.Run(session =>
    {
        session.Execute(
        "INSERT INTO {s}.workers (id, host, pid, process_started_at, state, concurrency, started_at, heartbeat_at, log_path, version) " +
        "VALUES (@id, @host, @pid, @pstart, @state, @concurrency, @now, @now, @log, @version) " +
        "ON CONFLICT ((lower(id))) DO UPDATE SET host = excluded.host, pid = excluded.pid, process_started_at = excluded.process_started_at, " +
        "state = CASE WHEN workers.stop_requested THEN 'Stopping' ELSE excluded.state END, concurrency = excluded.concurrency, " +
        "heartbeat_at = excluded.heartbeat_at, log_path = coalesce(excluded.log_path, workers.log_path), version = excluded.version",
        Pg.Text("id", id), Pg.Text("host", Environment.MachineName), Pg.Int("pid", processId),
        Pg.Big("pstart", processStartedAt is { } ps ? UnixTime.ToMs(ps) : null), Pg.Text("state", state.ToString()),
        Pg.Int("concurrency", concurrency), Pg.Big("now", session.Now), Pg.Text("log", logPath), Pg.Text("version", version));
        session.Notify(QueueChanges.Control); // Start-QueueWorker waits for its worker to sign on
    });

    public void SetProcess(string id, int processId, DateTime? processStartedAt) => _db.Run(session => session.Execute(
        "UPDATE {s}.workers SET pid = @pid, process_started_at = @pstart WHERE lower(id) = lower(@id) AND state = 'Starting'",
        Pg.Text("id", id), Pg.Int("pid", processId), Pg.Big("pstart", processStartedAt is { } ps ? UnixTime.ToMs(ps) : null)));

    public QueueWorker? Find(string id) =>
        List().FirstOrDefault(w => string.Equals(w.Id, id, StringComparison.OrdinalIgnoreCase));

    public bool Heartbeat(string id) => _db.Run(session => session.Scalar<bool?>(
        "UPDATE {s}.workers SET heartbeat_at = @now, " +
        "state = CASE WHEN state IN ('Lost', 'Starting') THEN (CASE WHEN stop_requested THEN 'Stopping' ELSE 'Running' END) ELSE state END " +
        "WHERE lower(id) = lower(@id) RETURNING stop_requested",
        Pg.Text("id", id), Pg.Big("now", session.Now)) == true);

    public bool IsStopRequested(string id) => _db.Run(session =>
        session.Scalar<bool?>("SELECT stop_requested FROM {s}.workers WHERE lower(id) = lower(@id)", Pg.Text("id", id)) == true);

    /// <summary>Records a worker's state; wakes the queue's listeners (Stop-QueueWorker waits for Stopped).</summary>
    public void SetState(string id, QueueWorkerState state) => _db.Run(session =>
    {
        session.Execute(
            "UPDATE {s}.workers SET state = @state, heartbeat_at = @now, " +
            "stopped_at = CASE WHEN @state IN ('Stopped', 'Lost') THEN @now ELSE NULL END WHERE lower(id) = lower(@id)",
            Pg.Text("id", id), Pg.Text("state", state.ToString()), Pg.Big("now", session.Now));
        session.Notify(QueueChanges.Control);
    });

    /// <summary>Asks a live worker to stop after its running jobs, and wakes it. Returns false when it is not alive.</summary>
    public bool RequestStop(string id) => _db.Run(session =>
    {
        var asked = session.Execute(
            "UPDATE {s}.workers SET stop_requested = true, state = CASE WHEN state = 'Running' THEN 'Stopping' ELSE state END " +
            $"WHERE lower(id) = lower(@id) AND state IN {LiveStates}",
            Pg.Text("id", id)) == 1;
        if (asked) session.Notify(QueueChanges.Control);
        return asked;
    });

    public IReadOnlyList<QueueWorker> List() => _db.Run(session =>
    {
        var now = session.Now;
        var lease = (long)_db.Config.LeaseDuration.TotalMilliseconds;
        var current = session.Query("SELECT worker_id, id FROM {s}.jobs WHERE state = 'Processing' ORDER BY seq",
                r => (Worker: r.GetString(0), Job: r.GetString(1)))
            .ToLookup(x => x.Worker, x => x.Job, StringComparer.OrdinalIgnoreCase);
        return session.QueryBound(
            "SELECT id, host, pid, state, concurrency, started_at, heartbeat_at, stopped_at, stop_requested, jobs_done, jobs_failed, log_path, version, process_started_at " +
            "FROM {s}.workers ORDER BY started_at DESC, id",
            r => Reader(r, now, lease, current));
    });

    private Func<QueueWorker> Reader(NpgsqlDataReader r, long now, long lease, ILookup<string, string> current)
    {
        int id = r.GetOrdinal("id"), host = r.GetOrdinal("host"), pid = r.GetOrdinal("pid"), stateColumn = r.GetOrdinal("state"),
            concurrency = r.GetOrdinal("concurrency"), started = r.GetOrdinal("started_at"), heartbeatAt = r.GetOrdinal("heartbeat_at"),
            stopped = r.GetOrdinal("stopped_at"), stop = r.GetOrdinal("stop_requested"), done = r.GetOrdinal("jobs_done"),
            failed = r.GetOrdinal("jobs_failed"), log = r.GetOrdinal("log_path"), version = r.GetOrdinal("version"),
            pstart = r.GetOrdinal("process_started_at");
        return () =>
        {
            var state = Enum.Parse<QueueWorkerState>(r.GetString(stateColumn));
            var heartbeat = r.GetInt64(heartbeatAt);
            if (state is QueueWorkerState.Running or QueueWorkerState.Stopping or QueueWorkerState.Starting
                && (now - heartbeat > lease || ProcessGoneHere(r.GetString(host), r.GetInt32(pid), r.IsDBNull(pstart) ? null : r.GetInt64(pstart))))
                state = QueueWorkerState.Lost;
            var workerId = r.GetString(id);
            return new QueueWorker
            {
                Id = workerId, HostName = r.GetString(host), ProcessId = r.GetInt32(pid), State = state, Concurrency = r.GetInt32(concurrency),
                StartedAt = UnixTime.FromMs(r.GetInt64(started)), HeartbeatAt = UnixTime.FromMs(heartbeat),
                HeartbeatAge = TimeSpan.FromMilliseconds(Math.Max(0, now - heartbeat)),
                StoppedAt = r.IsDBNull(stopped) ? null : UnixTime.FromMs(r.GetInt64(stopped)), StopRequested = r.GetBoolean(stop),
                JobsDone = r.GetInt64(done), JobsFailed = r.GetInt64(failed), CurrentJobs = current[workerId].ToList(),
                LogPath = r.IsDBNull(log) ? null : r.GetString(log), Version = r.IsDBNull(version) ? null : r.GetString(version),
                Database = _db.Address,
            };
        };
    }

    private static bool ProcessGoneHere(string host, int pid, long? startedAt) =>
        pid > 0 && string.Equals(host, Environment.MachineName, StringComparison.OrdinalIgnoreCase)
        && !Execution.ProcessTree.IsAlive(pid, startedAt);

    public IReadOnlyList<(string Id, int Pid, long? ProcessStartedAt)> LiveOnThisHost() => _db.Run(session => session.Query(
        $"SELECT id, pid, process_started_at FROM {{s}}.workers WHERE host = @host AND state IN {LiveStates}",
        r => (r.GetString(0), r.GetInt32(1), r.IsDBNull(2) ? (long?)null : r.GetInt64(2)),
        Pg.Text("host", Environment.MachineName)));

    public IReadOnlyList<(string Id, int Pid, long? ProcessStartedAt, TimeSpan HeartbeatAge)> OnThisHost(IReadOnlyList<string> ids) => _db.Run(session => session.Query(
        "SELECT id, pid, process_started_at, heartbeat_at FROM {s}.workers " +
        "WHERE host = @host AND lower(id) = ANY (SELECT lower(x) FROM unnest(@ids) AS x)",
        r => (r.GetString(0), r.GetInt32(1), r.IsDBNull(2) ? (long?)null : r.GetInt64(2), TimeSpan.FromMilliseconds(Math.Max(0, session.Now - r.GetInt64(3)))),
        Pg.Text("host", Environment.MachineName), Pg.Texts("ids", ids.ToArray())));

    public int MarkSilentWorkersLost() => _db.Run(session => session.Execute(
        $"UPDATE {{s}}.workers SET state = 'Lost', stopped_at = @now WHERE state IN {LiveStates} AND heartbeat_at < @since",
        Pg.Big("now", session.Now), Pg.Big("since", session.Now - (long)_db.Config.LeaseDuration.TotalMilliseconds)));

    public int Prune(TimeSpan age) => _db.Run(session => session.Execute(
        "DELETE FROM {s}.workers WHERE state IN ('Stopped', 'Lost') AND stopped_at < @before",
        Pg.Big("before", session.Now - (long)age.TotalMilliseconds)));
}
