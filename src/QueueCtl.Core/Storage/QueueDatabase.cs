using Microsoft.Data.Sqlite;
using QueueCtl.Configuration;

namespace QueueCtl.Storage;

/// <summary>
/// One open connection to a queue file. Thread-safe: every use takes the instance lock, so one worker process can share
/// it between its loop and its heartbeat. Write transactions begin IMMEDIATE, taking SQLite's write lock up front so
/// a transaction never fails half-way on a lock upgrade. Prepared statements are kept per connection.
/// </summary>
public sealed class QueueDatabase : IDisposable
{
    private const int BusyTimeoutMs = 60_000;
    private readonly object _gate = new();
    private readonly SqliteConnection _connection;
    private readonly Dictionary<string, SqliteCommand> _commands = new(StringComparer.Ordinal);
    private SqliteTransaction? _transaction;
    private QueueConfig _config = QueueConfig.Default;
    private bool _disposed;

    private QueueDatabase(string path, SqliteConnection connection, TimeProvider clock)
    {
        Path = path;
        _connection = connection;
        Clock = clock;
    }

    /// <summary>The full path of the queue file.</summary>
    public string Path { get; }

    /// <summary>The clock every state change is stamped with. Tests pass one they can move.</summary>
    public TimeProvider Clock { get; }

    /// <summary>The configuration as of the last <see cref="ReloadConfig"/>.</summary>
    public QueueConfig Config { get { lock (_gate) return _config; } }

    internal long NowMs => Clock.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>Opens (creating when missing) the queue at <paramref name="path"/> and brings its schema up to date.</summary>
    public static QueueDatabase Open(string path, TimeProvider? clock = null)
    {
        path = System.IO.Path.GetFullPath(path);
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
            var db = new QueueDatabase(path, connection, clock ?? TimeProvider.System);
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
        var mode = Scalar<string>("PRAGMA journal_mode = WAL");
        if (!string.Equals(mode, "wal", StringComparison.OrdinalIgnoreCase))
            throw new QueueException(QueueErrorCode.DatabaseUnavailable,
                $"The queue database '{Path}' cannot use write-ahead logging (journal mode is '{mode}'); put it on a local file system.");
        Migrate();
        ReloadConfig();
    }

    private void Migrate()
    {
        var version = Scalar<long>("PRAGMA user_version");
        if (version == Schema.CurrentVersion) return;
        if (version > Schema.CurrentVersion)
            throw new QueueException(QueueErrorCode.DatabaseTooNew,
                $"The queue database '{Path}' has schema version {version}, newer than this QueueCtl understands ({Schema.CurrentVersion}). Update QueueCtl.");
        Write(() =>
        {
            var current = Scalar<long>("PRAGMA user_version");
            if (current == 0 && Scalar<long>("SELECT count(*) FROM sqlite_master WHERE type = 'table'") > 0)
                throw new QueueException(QueueErrorCode.DatabaseUnavailable, $"'{Path}' is an SQLite database that QueueCtl did not create; refusing to change it.");
            for (var v = (int)current; v < Schema.CurrentVersion; v++)
                Execute(Schema.Migrations[v]);
            Execute($"PRAGMA user_version = {Schema.CurrentVersion}");
            return 0;
        });
    }

    /// <summary>Re-reads the config table and applies the synchronous level it names.</summary>
    public QueueConfig ReloadConfig()
    {
        lock (_gate)
        {
            var stored = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            using (var reader = Prepare("SELECT name, value FROM config").ExecuteReader())
                while (reader.Read()) stored[reader.GetString(0)] = reader.GetString(1);
            _config = QueueConfig.From(stored);
            if (_transaction is null) Execute($"PRAGMA synchronous = {_config.Synchronous}");
            return _config;
        }
    }

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
            if (_transaction is not null) return work();
            return Translate(() =>
            {
                _transaction = _connection.BeginTransaction(deferred: false);
                try
                {
                    var result = work();
                    _transaction.Commit();
                    return result;
                }
                catch
                {
                    TryRollback();
                    throw;
                }
                finally
                {
                    _transaction.Dispose();
                    _transaction = null;
                }
            });
        }
    }

    internal void Write(Action work) => Write(() => { work(); return 0; });

    private void TryRollback()
    {
        try { _transaction?.Rollback(); }
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
                $"The queue database '{Path}' stayed locked for {BusyTimeoutMs / 1000} s: {ex.Message}", ex);
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode is 8 or 10 or 11 or 13 or 14 or 26) // READONLY, IOERR, CORRUPT, FULL, CANTOPEN, NOTADB
        {
            throw new QueueException(QueueErrorCode.DatabaseUnavailable, $"The queue database '{Path}' cannot be used: {ex.Message}", ex);
        }
    }

    /// <summary>A cached, prepared command bound to the current transaction, with its parameters set.</summary>
    internal SqliteCommand Prepare(string sql, params (string Name, object? Value)[] parameters)
    {
        if (!_commands.TryGetValue(sql, out var command))
        {
            command = _connection.CreateCommand();
            command.CommandText = sql;
            _commands[sql] = command;
        }
        command.Transaction = _transaction;
        var list = command.Parameters;
        for (var i = 0; i < parameters.Length; i++)
        {
            var (name, value) = parameters[i];
            var index = list.IndexOf(name);
            if (index < 0) list.AddWithValue(name, value ?? DBNull.Value);
            else list[index].Value = value ?? DBNull.Value;
        }
        return command;
    }

    internal int Execute(string sql, params (string Name, object? Value)[] parameters) => Prepare(sql, parameters).ExecuteNonQuery();

    internal T Scalar<T>(string sql, params (string Name, object? Value)[] parameters)
    {
        var value = Prepare(sql, parameters).ExecuteScalar();
        if (value is null or DBNull) return default!;
        return value is T typed ? typed : (T)Convert.ChangeType(value, Nullable.GetUnderlyingType(typeof(T)) ?? typeof(T), System.Globalization.CultureInfo.InvariantCulture);
    }

    internal List<T> Query<T>(string sql, Func<SqliteDataReader, T> map, params (string Name, object? Value)[] parameters)
    {
        var rows = new List<T>();
        using var reader = Prepare(sql, parameters).ExecuteReader();
        while (reader.Read()) rows.Add(map(reader));
        return rows;
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            foreach (var command in _commands.Values) command.Dispose();
            _commands.Clear();
            _connection.Dispose();
        }
    }
}
