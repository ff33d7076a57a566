namespace QueueCtl.Storage.Sqlite;

/// <summary>The workers table: registration, heartbeats, stop requests, and who is alive.</summary>
internal sealed class SqliteWorkerRegistry : IWorkerRegistry
{
    private const string LiveStates = "('Starting', 'Running', 'Stopping')";
    private readonly SqliteDriver _db;

    public SqliteWorkerRegistry(SqliteDriver db) => _db = db;

    /// <summary>Records a worker about to start (Start-QueueWorker) or starting in this process.</summary>
    public void Register(string id, QueueWorkerState state, int processId, DateTime? processStartedAt, int concurrency,
        string? logPath, string? version) => _db.Write(() =>
    {
        var now = _db.NowMs;
        _db.Execute(
            "INSERT INTO workers (id, host, pid, process_started_at, state, concurrency, started_at, heartbeat_at, log_path, version) " +
            "VALUES ($id, $host, $pid, $pstart, $state, $concurrency, $now, $now, $log, $version) " +
            "ON CONFLICT (id) DO UPDATE SET host = excluded.host, pid = excluded.pid, process_started_at = excluded.process_started_at, " +
            "state = CASE WHEN workers.stop_requested = 1 THEN 'Stopping' ELSE excluded.state END, concurrency = excluded.concurrency, " +
            "heartbeat_at = excluded.heartbeat_at, log_path = coalesce(excluded.log_path, workers.log_path), version = excluded.version",
            ("$id", id), ("$host", Environment.MachineName), ("$pid", processId),
            ("$pstart", processStartedAt is { } ps ? UnixTime.ToMs(ps) : null), ("$state", state.ToString()),
            ("$concurrency", concurrency), ("$now", now), ("$log", logPath), ("$version", version));
    });

    /// <summary>Records the process Start-QueueWorker launched for a worker that has not registered itself yet.</summary>
    public void SetProcess(string id, int processId, DateTime? processStartedAt) => _db.Write(() => _db.Execute(
        "UPDATE workers SET pid = $pid, process_started_at = $pstart WHERE id = $id AND state = 'Starting'",
        ("$id", id), ("$pid", processId), ("$pstart", processStartedAt is { } ps ? UnixTime.ToMs(ps) : null)));

    public QueueWorker? Find(string id) =>
        List().FirstOrDefault(w => string.Equals(w.Id, id, StringComparison.OrdinalIgnoreCase));

    /// <summary>Refreshes a worker's heartbeat. Returns whether a stop has been requested.</summary>
    public bool Heartbeat(string id) => _db.Write(() =>
        _db.Scalar<long?>(
            "UPDATE workers SET heartbeat_at = $now, " +
            "state = CASE WHEN state IN ('Lost', 'Starting') THEN (CASE WHEN stop_requested = 1 THEN 'Stopping' ELSE 'Running' END) ELSE state END " +
            "WHERE id = $id RETURNING stop_requested",
            ("$id", id), ("$now", _db.NowMs)) == 1);

    public bool IsStopRequested(string id) =>
        _db.Read(() => _db.Scalar<long?>("SELECT stop_requested FROM workers WHERE id = $id", ("$id", id)) == 1);

    public void SetState(string id, QueueWorkerState state) => _db.Write(() => _db.Execute(
        "UPDATE workers SET state = $state, heartbeat_at = $now, " +
        "stopped_at = CASE WHEN $state IN ('Stopped', 'Lost') THEN $now ELSE NULL END WHERE id = $id",
        ("$id", id), ("$state", state.ToString()), ("$now", _db.NowMs)));

    /// <summary>Asks a live worker to stop after its running jobs. Returns false when it is not alive.</summary>
    public bool RequestStop(string id) => _db.Write(() => _db.Execute(
        $"UPDATE workers SET stop_requested = 1, state = CASE WHEN state = 'Running' THEN 'Stopping' ELSE state END WHERE id = $id AND state IN {LiveStates}",
        ("$id", id)) == 1);

    /// <summary>
    /// Workers, newest first. A live worker whose heartbeat is older than the lease is reported Lost, and so is one on
    /// this machine whose process is gone.
    /// </summary>
    public IReadOnlyList<QueueWorker> List() => _db.Read(() =>
    {
        var now = _db.NowMs;
        var lease = (long)_db.Config.LeaseDuration.TotalMilliseconds;
        var current = _db.Query("SELECT worker_id, id FROM jobs WHERE state = 'Processing' ORDER BY seq",
                r => (Worker: r.GetString(0), Job: r.GetString(1)))
            .ToLookup(x => x.Worker, x => x.Job, StringComparer.OrdinalIgnoreCase);
        return _db.Query(
            "SELECT id, host, pid, state, concurrency, started_at, heartbeat_at, stopped_at, stop_requested, jobs_done, jobs_failed, log_path, version, process_started_at " +
            "FROM workers ORDER BY started_at DESC, id",
            r =>
            {
                var state = Enum.Parse<QueueWorkerState>(r.GetString(3));
                var heartbeat = r.GetInt64(6);
                if (state is QueueWorkerState.Running or QueueWorkerState.Stopping or QueueWorkerState.Starting
                    && (now - heartbeat > lease || ProcessGoneHere(r.GetString(1), r.GetInt32(2), r.IsDBNull(13) ? null : r.GetInt64(13))))
                    state = QueueWorkerState.Lost;
                var id = r.GetString(0);
                return new QueueWorker
                {
                    Id = id, HostName = r.GetString(1), ProcessId = r.GetInt32(2), State = state, Concurrency = r.GetInt32(4),
                    StartedAt = UnixTime.FromMs(r.GetInt64(5)), HeartbeatAt = UnixTime.FromMs(heartbeat),
                    HeartbeatAge = TimeSpan.FromMilliseconds(Math.Max(0, now - heartbeat)),
                    StoppedAt = r.IsDBNull(7) ? null : UnixTime.FromMs(r.GetInt64(7)), StopRequested = r.GetInt64(8) == 1,
                    JobsDone = r.GetInt64(9), JobsFailed = r.GetInt64(10), CurrentJobs = current[id].ToList(),
                    LogPath = r.IsDBNull(11) ? null : r.GetString(11), Version = r.IsDBNull(12) ? null : r.GetString(12),
                    Database = _db.Path,
                };
            });
    });

    private static bool ProcessGoneHere(string host, int pid, long? startedAt) =>
        pid > 0 && string.Equals(host, Environment.MachineName, StringComparison.OrdinalIgnoreCase)
        && !Execution.ProcessTree.IsAlive(pid, startedAt);

    /// <summary>Live workers registered from this machine, with the process identity needed to check they still exist.</summary>
    public IReadOnlyList<(string Id, int Pid, long? ProcessStartedAt)> LiveOnThisHost() => _db.Read(() => _db.Query(
        $"SELECT id, pid, process_started_at FROM workers WHERE host = $host AND state IN {LiveStates}",
        r => (r.GetString(0), r.GetInt32(1), r.IsDBNull(2) ? (long?)null : r.GetInt64(2)),
        ("$host", Environment.MachineName)));

    public IReadOnlyList<(string Id, int Pid, long? ProcessStartedAt, TimeSpan HeartbeatAge)> OnThisHost(IReadOnlyList<string> ids) => _db.Read(() =>
    {
        var now = _db.NowMs;
        return _db.Query(
            "SELECT id, pid, process_started_at, heartbeat_at FROM workers WHERE host = $host AND id IN (SELECT value FROM json_each($ids))",
            r => (r.GetString(0), r.GetInt32(1), r.IsDBNull(2) ? (long?)null : r.GetInt64(2), TimeSpan.FromMilliseconds(Math.Max(0, now - r.GetInt64(3)))),
            ("$host", Environment.MachineName), ("$ids", System.Text.Json.JsonSerializer.Serialize(ids)));
    });

    /// <summary>Marks live workers whose heartbeat is older than the lease as Lost.</summary>
    public int MarkSilentWorkersLost() => _db.Write(() =>
    {
        var now = _db.NowMs;
        return _db.Execute(
            $"UPDATE workers SET state = 'Lost', stopped_at = $now WHERE state IN {LiveStates} AND heartbeat_at < $since",
            ("$now", now), ("$since", now - (long)_db.Config.LeaseDuration.TotalMilliseconds));
    });

    /// <summary>Forgets workers that stopped or were lost more than <paramref name="age"/> ago.</summary>
    public int Prune(TimeSpan age) => _db.Write(() => _db.Execute(
        "DELETE FROM workers WHERE state IN ('Stopped', 'Lost') AND stopped_at < $before",
        ("$before", _db.NowMs - (long)age.TotalMilliseconds)));
}
