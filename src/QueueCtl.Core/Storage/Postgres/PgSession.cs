using Npgsql;

namespace QueueCtl.Storage.Postgres;

/// <summary>
/// One transaction on one pooled connection, with the server's time read once at its start (<see cref="Now"/>): every
/// timestamp the transaction writes or compares is that one, so all hosts agree on leases whatever their own clocks.
/// SQL names the queue's schema as {s}, and the transaction's time as {now} (in SQL; see <see cref="NowSql"/>).
/// A session is either an explicit transaction (BEGIN … COMMIT, statements sent one by one), or one batch
/// (<see cref="RunAsOne"/>): the start, the work and the notification sent together as PostgreSQL's implicit
/// transaction, which commits when the batch succeeds and rolls back whole when a statement fails: one round trip.
/// </summary>
internal sealed class PgSession
{
    // The server's clock, unless a test stamps its own time (@now). It is also kept in a setting of the transaction
    // (queuectl.now), so statements sent in the same batch as this one, before its result is back, can use it ({now}).
    // A transaction left open by a client that vanished mid-way (a cut link: no FIN, no RST) would hold its row locks
    // until the server noticed, hours later with default keepalives, and no other host could recover those jobs:
    // idle_in_transaction_session_timeout ends it instead. Our transactions never pause between statements.
    private const string StartSql =
        "SELECT set_config('lock_timeout', @timeout, true), set_config('statement_timeout', @timeout, true), " +
        "set_config('idle_in_transaction_session_timeout', @idle, true), " +
        "set_config('queuectl.now', coalesce(@now, (extract(epoch from clock_timestamp()) * 1000)::bigint)::text, true)::bigint";

    /// <summary>The transaction's time in SQL, for {now}: the same value as <see cref="Now"/>.</summary>
    internal const string NowSql = "current_setting('queuectl.now')::bigint";

    // A worker's statements touch a handful of rows by key or through a small index. A queue's statistics lag far
    // behind it (a table analyzed when nearly empty that now holds thousands of jobs, or the reverse), and on them the
    // planner can prefer reading the whole table: in a worker's transactions it is told not to.
    // With sequential scans disabled, a plan that still needs one (a small table with no fitting index) is costed at
    // 1e10, past every JIT threshold: the server would then compile the statement on each run, costing hundreds of
    // milliseconds a claim. JIT never pays for statements this short, so it goes off with them.
    private const string StartByIndexSql = StartSql + ", set_config('enable_seqscan', 'off', true), set_config('jit', 'off', true)";

    private readonly PostgresDriver _db;
    private readonly NpgsqlConnection _connection;
    private readonly NpgsqlTransaction? _transaction;
    private readonly int _commandTimeoutSeconds;
    private readonly NpgsqlBatchCommand _start;
    private QueueChanges _notify;
    private long? _now;

    /// <summary>An explicit transaction (<paramref name="transaction"/>): the start is sent at once.</summary>
    public PgSession(PostgresDriver db, NpgsqlConnection connection, NpgsqlTransaction transaction, TimeSpan busyTimeout, long? stampedNow,
        bool byIndex = false)
        : this(db, connection, busyTimeout, stampedNow, byIndex, transaction)
    {
        using var batch = Batch(_start);
        using var reader = batch.ExecuteReader();
        ReadStart(reader);
    }

    private PgSession(PostgresDriver db, NpgsqlConnection connection, TimeSpan busyTimeout, long? stampedNow, bool byIndex,
        NpgsqlTransaction? transaction)
    {
        _db = db;
        _connection = connection;
        _transaction = transaction;
        // The server gives up first (lock_timeout, statement_timeout: SQLSTATE 55P03, 57014); the client's timeout (whole
        // seconds, one more) only catches a server or link that stopped answering.
        var timeoutMs = (long)Math.Clamp(busyTimeout.TotalMilliseconds, 1, int.MaxValue);
        _commandTimeoutSeconds = (int)Math.Min(int.MaxValue, (timeoutMs + 999) / 1000 + 1);
        var idleMs = Math.Clamp(timeoutMs * 4, 1000, 10_000);
        _start = BatchCommand(byIndex ? StartByIndexSql : StartSql, Pg.Text("timeout", timeoutMs.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            Pg.Text("idle", idleMs.ToString(System.Globalization.CultureInfo.InvariantCulture)), Pg.Big("now", stampedNow));
    }

    /// <summary>A session whose work is one batch (<see cref="RunAsOne"/>); nothing is sent until then.</summary>
    public static PgSession OneBatch(PostgresDriver db, NpgsqlConnection connection, TimeSpan busyTimeout, long? stampedNow, bool byIndex) =>
        new(db, connection, busyTimeout, stampedNow, byIndex, transaction: null);

    /// <summary>The transaction's time: the server's clock in Unix milliseconds (or a test's stamping clock).</summary>
    /// <remarks>In a one-batch session, known only once <see cref="RunAsOne"/> has read its first result.</remarks>
    public long Now => _now ?? throw new InvalidOperationException("The transaction's time is not known before its batch has run.");

    /// <summary>Whether anything was sent (in a one-batch session: whether its batch started; before that, a failure changed nothing).</summary>
    public bool Sent { get; private set; }

    /// <summary>Whether the server answered the start of the transaction.</summary>
    public bool Started => _now is not null;

    private void ReadStart(NpgsqlDataReader reader)
    {
        Sent = true;
        reader.Read();
        _now = reader.GetInt64(3);
    }

    /// <summary>
    /// A one-batch session's work: the start, <paramref name="commands"/> and the notification of the changes they
    /// declared (<see cref="Notify"/>) in one round trip, as one implicit transaction. <paramref name="read"/> gets the
    /// reader at the first command's result; <see cref="Now"/> is known by then.
    /// </summary>
    public T RunAsOne<T>(IReadOnlyList<NpgsqlBatchCommand> commands, Func<NpgsqlDataReader, T> read)
    {
        if (_transaction is not null || Sent) throw new InvalidOperationException("Only a one-batch session runs one batch, once.");
        var all = new List<NpgsqlBatchCommand>(commands.Count + 2) { _start };
        all.AddRange(commands);
        if (TakeNotification() is { } notify) all.Add(notify);
        using var batch = Batch(all.ToArray());
        Sent = true;
        using var reader = batch.ExecuteReader();
        ReadStart(reader);
        reader.NextResult();
        var result = read(reader);
        // The implicit transaction commits once every statement has run: read to the end, so an error is seen here.
        while (reader.NextResult()) { }
        return result;
    }

    /// <summary>After a one-batch session's work: a change declared after its batch would never be notified.</summary>
    internal void EnsureNothingLeft()
    {
        if (_notify != QueueChanges.None) throw new InvalidOperationException("A one-batch session declared a change after its batch.");
    }

    public NpgsqlCommand Command(string sql, params NpgsqlParameter[] parameters)
    {
        if (_transaction is null) throw new InvalidOperationException("A one-batch session sends statements only through RunAsOne.");
        var command = new NpgsqlCommand(_db.Sql(sql), _connection, _transaction) { CommandTimeout = _commandTimeoutSeconds };
        command.Parameters.AddRange(parameters);
        return command;
    }

    /// <summary>A statement for <see cref="Batch"/>.</summary>
    public NpgsqlBatchCommand BatchCommand(string sql, params NpgsqlParameter[] parameters)
    {
        var command = new NpgsqlBatchCommand(_db.Sql(sql));
        command.Parameters.AddRange(parameters);
        return command;
    }

    /// <summary>Statements sent together, in one round trip; each sees the ones before it. Results come in order.</summary>
    public NpgsqlBatch Batch(params NpgsqlBatchCommand[] commands)
    {
        var batch = new NpgsqlBatch(_connection, _transaction) { Timeout = _commandTimeoutSeconds };
        foreach (var command in commands) batch.BatchCommands.Add(command);
        return batch;
    }

    public int Execute(string sql, params NpgsqlParameter[] parameters)
    {
        using var command = Command(sql, parameters);
        return command.ExecuteNonQuery();
    }

    public T? Scalar<T>(string sql, params NpgsqlParameter[] parameters)
    {
        using var command = Command(sql, parameters);
        var value = command.ExecuteScalar();
        if (value is null or DBNull) return default;
        return value is T typed ? typed : (T)System.Convert.ChangeType(value, Nullable.GetUnderlyingType(typeof(T)) ?? typeof(T), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Runs a query; <paramref name="bind"/> is called once per result (to look up column ordinals by name) and returns
    /// the mapper of one row.
    /// </summary>
    public List<T> QueryBound<T>(string sql, Func<NpgsqlDataReader, Func<T>> bind, params NpgsqlParameter[] parameters)
    {
        using var command = Command(sql, parameters);
        using var reader = command.ExecuteReader();
        var rows = new List<T>();
        var map = bind(reader);
        while (reader.Read()) rows.Add(map());
        return rows;
    }

    /// <summary>Runs a query of a few columns and maps every row with <paramref name="map"/>.</summary>
    public List<T> Query<T>(string sql, Func<NpgsqlDataReader, T> map, params NpgsqlParameter[] parameters) =>
        QueryBound<T>(sql, r => () => map(r), parameters);

    /// <summary>Wakes the queue's listeners with a change of <paramref name="kinds"/> once this transaction commits.</summary>
    public void Notify(QueueChanges kinds) => _notify |= kinds;

    /// <summary>Sends the notification of this transaction's changes, one for all their kinds; called just before commit.</summary>
    internal void SendNotifications()
    {
        if (TakeNotification() is not { } notify) return;
        using var batch = Batch(notify);
        batch.ExecuteNonQuery();
    }

    /// <summary>
    /// The statement that notifies of the changes so far, for a batch that ends the transaction's work (null when
    /// there are none); they count as sent.
    /// </summary>
    internal NpgsqlBatchCommand? TakeNotification()
    {
        if (_notify == QueueChanges.None) return null;
        var command = BatchCommand("SELECT pg_notify(@channel, @payload)", Pg.Text("channel", _db.Channel),
            Pg.Text("payload", _db.NotifyToken + ":" + ((int)_notify).ToString(System.Globalization.CultureInfo.InvariantCulture)));
        _notify = QueueChanges.None;
        return command;
    }
}
