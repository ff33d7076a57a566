using Microsoft.Data.Sqlite;
using QueueCtl.Configuration;

namespace QueueCtl.Storage.Sqlite;

/// <summary>
/// One open connection to a queue file. Thread-safe: every use takes the instance lock, so one worker process can share
/// it between its loop and its heartbeat. Write transactions begin IMMEDIATE, taking SQLite's write lock up front so
/// a transaction never fails half-way on a lock upgrade. Prepared statements are kept per connection.
/// </summary>
public sealed class SqliteDriver : IQueueDriver
{
    private const int BusyTimeoutMs = 60_000;
    private readonly object _gate = new();
    private readonly SqliteConnection _connection;
    private readonly SQLitePCL.sqlite3 _handle;
    private readonly Dictionary<string, Statement> _statements = new(StringComparer.Ordinal);
    private bool _inTransaction;
    private int _busyTimeoutMs = BusyTimeoutMs;
    private QueueConfig _config = QueueConfig.Default;
    private bool _disposed;
    private IJobStore? _jobs;
    private IWorkerRegistry? _workers;
    private IConfigStore? _settings;
    private IOutputStore? _outputs;
    private INamedQueueStore? _queues;

    private SqliteDriver(string path, SqliteConnection connection, TimeProvider clock)
    {
        Path = path;
        _connection = connection;
        _handle = connection.Handle!;
        Clock = clock;
    }

    /// <summary>The full path of the queue file.</summary>
    public string Path { get; }

    public string Engine => "SQLite";

    public string Address => Path;

    public string LocalPath => Path;

    public bool StampsWithClock => true;

    public IJobStore Jobs => _jobs ??= new SqliteJobStore(this);

    public IWorkerRegistry Workers => _workers ??= new SqliteWorkerRegistry(this);

    public IConfigStore Settings => _settings ??= new SqliteConfigStore(this);

    public IOutputStore Outputs => _outputs ??= new SqliteOutputStore(this);

    public INamedQueueStore Queues => _queues ??= new SqliteNamedQueueStore(this);

    public ILeaseStore Leases(string workerId, IReadOnlyList<string>? queues = null) => new SqliteLeaseStore(this, workerId, queues);

    public IQueueListener Listen(QueueChanges interest = QueueChanges.All) => new SqliteListener(this);

    bool IQueueDriver.IsCorruption(QueueException error) => IsCorruption(error);

    bool IQueueDriver.IsLockTimeout(QueueException error) => IsLockTimeout(error);

    /// <summary>The clock every state change is stamped with. Tests pass one they can move.</summary>
    public TimeProvider Clock { get; }

    /// <summary>The configuration as of the last <see cref="ReloadConfig"/>.</summary>
    public QueueConfig Config { get { lock (_gate) return _config; } }

    internal long NowMs => Clock.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>
    /// How long a statement waits for another connection's write lock before failing (60 s unless changed). A worker
    /// shortens it for its own connection so a locked file cannot hold up its heartbeats and self-fencing; the
    /// cmdlets keep the long wait.
    /// </summary>
    public TimeSpan BusyTimeout
    {
        get { lock (_gate) return TimeSpan.FromMilliseconds(_busyTimeoutMs); }
        set
        {
            lock (_gate)
            {
                ThrowIfDisposed();
                _busyTimeoutMs = (int)Math.Clamp(value.TotalMilliseconds, 0, int.MaxValue);
                SQLitePCL.raw.sqlite3_busy_timeout(_handle, _busyTimeoutMs);
            }
        }
    }

    /// <summary>
    /// True when <paramref name="error"/> says the file itself is damaged (SQLITE_CORRUPT, SQLITE_NOTADB) rather than
    /// unavailable for a while (locked, full, an I/O error): waiting does not cure it.
    /// </summary>
    public static bool IsCorruption(QueueException error) =>
        error.InnerException is SqliteException { SqliteErrorCode: 11 or 26 };

    /// <summary>True when <paramref name="error"/> is another connection's lock outlasting <see cref="BusyTimeout"/>.</summary>
    public static bool IsLockTimeout(QueueException error) =>
        error.InnerException is SqliteException { SqliteErrorCode: 5 or 6 };

    /// <summary>Opens (creating when missing) the queue at <paramref name="path"/> and brings its schema up to date.</summary>
    public static SqliteDriver Open(string path, TimeProvider? clock = null)
    {
        if (QueueAddress.IsServer(path))
            throw new QueueException(QueueErrorCode.UnsupportedDatabaseAddress,
                $"'{QueueAddress.Mask(path)}' is a PostgreSQL address, not the path of an SQLite queue file.");
        path = System.IO.Path.GetFullPath(DatabaseLocator.RefuseAddress(path));
        SqliteConnection? connection = null;
        try
        {
            DatabaseLocator.EnsureCreated(path);
            connection = new SqliteConnection(new SqliteConnectionStringBuilder
            {
                DataSource = path,
                Pooling = false,
                DefaultTimeout = BusyTimeoutMs / 1000,
            }.ToString());
            connection.Open();
            var db = new SqliteDriver(path, connection, clock ?? TimeProvider.System);
            db.Initialize();
            return db;
        }
        catch (SqliteException ex)
        {
            connection?.Dispose();
            throw new QueueException(QueueErrorCode.DatabaseUnavailable, $"Cannot open the queue database '{path}': {ex.Message}", ex);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            connection?.Dispose();
            throw new QueueException(QueueErrorCode.DatabaseUnavailable, $"Cannot open the queue database '{path}': {ex.Message}", ex);
        }
        catch
        {
            connection?.Dispose();
            throw;
        }
    }

    private void Initialize()
    {
        Execute($"PRAGMA busy_timeout = {BusyTimeoutMs}");
        // Only reads until the file is known to be ours: a refused file must leave as it came (journal mode included).
        RefuseForeign();
        foreach (var file in new[] { Path, Path + "-wal", Path + "-shm" }) PrivateFiles.EnsurePrivateFile(file);
        var mode = Scalar<string>("PRAGMA journal_mode = WAL");
        if (!string.Equals(mode, "wal", StringComparison.OrdinalIgnoreCase))
            throw new QueueException(QueueErrorCode.DatabaseUnavailable,
                $"The queue database '{Path}' cannot use write-ahead logging (journal mode is '{mode}'); put it on a local file system.");
        Migrate();
        ReloadConfig();
    }

    /// <summary>Refuses, without writing anything, a database from a newer release or one QueueCtl did not create.</summary>
    private void RefuseForeign()
    {
        // One read transaction: another process creating the queue commits its schema and version together.
        Execute("BEGIN");
        try
        {
            RefuseForeignIn();
        }
        finally
        {
            TryRollback();
        }
    }

    private void RefuseForeignIn()
    {
        var version = Scalar<long>("PRAGMA user_version");
        if (version > SqliteSchema.CurrentVersion)
            throw new QueueException(QueueErrorCode.DatabaseTooNew,
                $"The queue database '{Path}' has schema version {version}, newer than this QueueCtl understands ({SqliteSchema.CurrentVersion}). Update QueueCtl.");
        var tables = Scalar<long>("SELECT count(*) FROM sqlite_master WHERE type = 'table'");
        var ours = Scalar<long>("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('jobs', 'job_counts', 'config')");
        if (version == 0 ? tables > 0 : ours < 3)
            throw Foreign();
    }

    private QueueException Foreign() =>
        new(QueueErrorCode.DatabaseUnavailable, $"'{Path}' is an SQLite database that QueueCtl did not create; refusing to change it.");

    private void Migrate()
    {
        var version = Scalar<long>("PRAGMA user_version");
        if (version == SqliteSchema.CurrentVersion) return;
        if (version > SqliteSchema.CurrentVersion)
            throw new QueueException(QueueErrorCode.DatabaseTooNew,
                $"The queue database '{Path}' has schema version {version}, newer than this QueueCtl understands ({SqliteSchema.CurrentVersion}). Update QueueCtl.");
        Write(() =>
        {
            var current = Scalar<long>("PRAGMA user_version");
            if (current == 0 && Scalar<long>("SELECT count(*) FROM sqlite_master WHERE type = 'table'") > 0)
                throw Foreign();
            for (var v = (int)current; v < SqliteSchema.CurrentVersion; v++)
                Exec(SqliteSchema.Migrations[v]);
            Execute($"PRAGMA user_version = {SqliteSchema.CurrentVersion}");
            return 0;
        });
    }

    /// <summary>Re-reads the config table and applies the synchronous level it names.</summary>
    public QueueConfig ReloadConfig()
    {
        lock (_gate)
        {
            var stored = Query("SELECT name, value FROM config", r => (r.GetString(0), r.GetString(1)))
                .ToDictionary(x => x.Item1, x => x.Item2, StringComparer.OrdinalIgnoreCase);
            _config = QueueConfig.From(stored);
            if (!_inTransaction) Execute($"PRAGMA synchronous = {_config.Synchronous}");
            return _config;
        }
    }

    /// <summary>
    /// Returns once no other connection holds the write lock: takes it (BEGIN IMMEDIATE, waiting like any writer)
    /// and gives it straight back without writing.
    /// </summary>
    public void WaitForWriters() => Read(() =>
    {
        if (_inTransaction) return 0;
        Execute("BEGIN IMMEDIATE");
        Execute("ROLLBACK");
        return 0;
    });

    /// <summary>A number that changes whenever another connection commits to the file.</summary>
    public long DataVersion() => Read(() => Scalar<long>("PRAGMA data_version"));

    /// <summary>Runs <paramref name="work"/> under the instance lock, outside any transaction.</summary>
    internal T Read<T>(Func<T> work)
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            return Translate(work);
        }
    }

    /// <summary>Runs <paramref name="work"/> in one IMMEDIATE transaction: all of it commits, or none of it.</summary>
    internal T Write<T>(Func<T> work)
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            if (_inTransaction) return work();
            return Translate(() =>
            {
                Execute("BEGIN IMMEDIATE");
                _inTransaction = true;
                try
                {
                    var result = work();
                    Execute("COMMIT");
                    return result;
                }
                catch
                {
                    TryRollback();
                    throw;
                }
                finally
                {
                    _inTransaction = false;
                }
            });
        }
    }

    internal void Write(Action work) => Write(() => { work(); return 0; });

    private void TryRollback()
    {
        try { Execute("ROLLBACK"); }
        catch (SqliteException) { /* the transaction is already gone; nothing was committed */ }
    }

    private T Translate<T>(Func<T> work)
    {
        try
        {
            return work();
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode is 5 or 6) // SQLITE_BUSY, SQLITE_LOCKED
        {
            throw new QueueException(QueueErrorCode.DatabaseUnavailable,
                $"The queue database '{Path}' stayed locked for {_busyTimeoutMs / 1000.0:0.###} s: {ex.Message}", ex);
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode is 11 or 26) // CORRUPT, NOTADB
        {
            throw new QueueException(QueueErrorCode.DatabaseUnavailable, $"The queue database '{Path}' is damaged: {ex.Message}", ex);
        }
        // NOMEM, READONLY, IOERR, FULL, CANTOPEN, PROTOCOL: the file cannot be used now; it may be usable again later.
        catch (SqliteException ex) when (ex.SqliteErrorCode is 7 or 8 or 10 or 13 or 14 or 15)
        {
            throw new QueueException(QueueErrorCode.DatabaseUnavailable, $"The queue database '{Path}' cannot be used: {ex.Message}", ex);
        }
    }

    /// <summary>The statement for <paramref name="sql"/>, prepared once per connection, with its parameters bound.</summary>
    internal Statement Prepare(string sql, params (string Name, object? Value)[] parameters)
    {
        if (!_statements.TryGetValue(sql, out var statement))
        {
            statement = new Statement(_handle, sql);
            _statements[sql] = statement;
        }
        statement.Bind(parameters);
        return statement;
    }

    internal int Execute(string sql, params (string Name, object? Value)[] parameters) => Prepare(sql, parameters).Execute();

    internal T Scalar<T>(string sql, params (string Name, object? Value)[] parameters)
    {
        var value = Prepare(sql, parameters).Query(r => r.GetValue(0)).FirstOrDefault();
        if (value is null) return default!;
        return value is T typed ? typed : (T)Convert.ChangeType(value, Nullable.GetUnderlyingType(typeof(T)) ?? typeof(T), System.Globalization.CultureInfo.InvariantCulture);
    }

    internal List<T> Query<T>(string sql, Func<Row, T> map, params (string Name, object? Value)[] parameters) =>
        Prepare(sql, parameters).Query(map);

    /// <summary>Runs a script of several statements (a migration).</summary>
    private void Exec(string script)
    {
        var rc = SQLitePCL.raw.sqlite3_exec(_handle, script, out var message);
        if (rc != SQLitePCL.raw.SQLITE_OK) throw new SqliteException(message ?? $"SQLite error {rc}", rc & 0xFF);
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            foreach (var statement in _statements.Values) statement.Dispose();
            _statements.Clear();
            _connection.Dispose();
        }
    }
}
