using Npgsql;

namespace QueueCtl.Storage.Postgres;

/// <summary>
/// The one place that turns a jobs row into a <see cref="QueueJob"/>, reading columns by name (ordinals looked up once
/// per result). The objects are the same as SQLite's: times from Unix milliseconds, errors from the JSON history.
/// </summary>
internal sealed class PgJobRows
{
    public const string Columns =
        "seq, id, kind, command, arguments, working_directory, state, attempts, runs, max_retries, timeout_ms, run_at, " +
        "created_at, updated_at, started_at, finished_at, exit_code, last_error, errors, worker_id, cancel_requested, lease_until, queue, priority, tags";

    /// <summary><see cref="Columns"/> qualified with the table, for statements that join.</summary>
    public static readonly string JobsColumns = string.Join(", ", Columns.Split(", ").Select(c => "jobs." + c));

    private readonly NpgsqlDataReader _r;
    private readonly string _database;
    private readonly int _seq, _id, _kind, _command, _arguments, _wd, _state, _attempts, _runs, _maxRetries, _timeout, _runAt,
        _createdAt, _updatedAt, _startedAt, _finishedAt, _exitCode, _lastError, _errors, _workerId, _cancel, _lease, _queue, _priority, _tags;

    public PgJobRows(NpgsqlDataReader reader, string database)
    {
        _r = reader;
        _database = database;
        _seq = reader.GetOrdinal("seq");
        _id = reader.GetOrdinal("id");
        _kind = reader.GetOrdinal("kind");
        _command = reader.GetOrdinal("command");
        _arguments = reader.GetOrdinal("arguments");
        _wd = reader.GetOrdinal("working_directory");
        _state = reader.GetOrdinal("state");
        _attempts = reader.GetOrdinal("attempts");
        _runs = reader.GetOrdinal("runs");
        _maxRetries = reader.GetOrdinal("max_retries");
        _timeout = reader.GetOrdinal("timeout_ms");
        _runAt = reader.GetOrdinal("run_at");
        _createdAt = reader.GetOrdinal("created_at");
        _updatedAt = reader.GetOrdinal("updated_at");
        _startedAt = reader.GetOrdinal("started_at");
        _finishedAt = reader.GetOrdinal("finished_at");
        _exitCode = reader.GetOrdinal("exit_code");
        _lastError = reader.GetOrdinal("last_error");
        _errors = reader.GetOrdinal("errors");
        _workerId = reader.GetOrdinal("worker_id");
        _cancel = reader.GetOrdinal("cancel_requested");
        _lease = reader.GetOrdinal("lease_until");
        _queue = reader.GetOrdinal("queue");
        _priority = reader.GetOrdinal("priority");
        _tags = reader.GetOrdinal("tags");
    }

    /// <summary>A mapper for <see cref="PgSession.Query{T}"/> that yields the job alone.</summary>
    public static Func<NpgsqlDataReader, Func<QueueJob>> Jobs(string database) => r =>
    {
        var rows = new PgJobRows(r, database);
        return rows.Job;
    };

    /// <summary>A mapper that yields the seq, the job, and its lease expiry (0 when it holds none).</summary>
    public static Func<NpgsqlDataReader, Func<(long Seq, QueueJob Job, long LeaseUntil)>> WithSeq(string database) => r =>
    {
        var rows = new PgJobRows(r, database);
        return () => (rows.Seq, rows.Job(), rows.LeaseUntil);
    };

    public long Seq => _r.GetInt64(_seq);

    public long LeaseUntil => _r.IsDBNull(_lease) ? 0 : _r.GetInt64(_lease);

    public QueueJob Job() => new()
    {
        Id = _r.GetString(_id),
        Kind = Enum.Parse<QueueJobKind>(_r.GetString(_kind)),
        Command = _r.GetString(_command),
        Arguments = _r.IsDBNull(_arguments) ? null : _r.GetString(_arguments),
        WorkingDirectory = _r.IsDBNull(_wd) ? null : _r.GetString(_wd),
        State = Enum.Parse<QueueJobState>(_r.GetString(_state)),
        Attempts = _r.GetInt32(_attempts),
        Runs = _r.GetInt32(_runs),
        MaxRetries = _r.GetInt32(_maxRetries),
        Timeout = _r.IsDBNull(_timeout) ? null : TimeSpan.FromMilliseconds(_r.GetInt64(_timeout)),
        RunAt = UnixTime.FromMs(_r.GetInt64(_runAt)),
        CreatedAt = UnixTime.FromMs(_r.GetInt64(_createdAt)),
        UpdatedAt = UnixTime.FromMs(_r.GetInt64(_updatedAt)),
        StartedAt = _r.IsDBNull(_startedAt) ? null : UnixTime.FromMs(_r.GetInt64(_startedAt)),
        FinishedAt = _r.IsDBNull(_finishedAt) ? null : UnixTime.FromMs(_r.GetInt64(_finishedAt)),
        ExitCode = _r.IsDBNull(_exitCode) ? null : _r.GetInt32(_exitCode),
        LastError = _r.IsDBNull(_lastError) ? null : _r.GetString(_lastError),
        Errors = _r.IsDBNull(_errors) ? Array.Empty<QueueJobError>() : StoredRows.Errors(_r.GetString(_errors)),
        WorkerId = _r.IsDBNull(_workerId) ? null : _r.GetString(_workerId),
        CancelRequested = _r.GetBoolean(_cancel),
        Queue = _r.GetString(_queue),
        Priority = _r.GetInt32(_priority),
        Tags = _r.IsDBNull(_tags) ? Array.Empty<string>() : _r.GetFieldValue<string[]>(_tags),
        Database = _database,
    };
}
