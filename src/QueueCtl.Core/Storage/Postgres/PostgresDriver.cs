using System.Collections.Concurrent;
using Npgsql;
using QueueCtl.Configuration;

namespace QueueCtl.Storage.Postgres;

/// <summary>
/// A queue kept in one schema of a PostgreSQL database. Thread-safe: every call takes a pooled connection for one
/// transaction (READ COMMITTED) and gives it back, so a worker's loop and heartbeat never wait on each other here.
/// Every time the store writes or compares comes from the server's clock (see <see cref="PgSession.Now"/>); <see
/// cref="Clock"/> is only this process's clock, for the worker's self-fencing.
/// </summary>
public sealed class PostgresDriver : IQueueDriver
{
    private const int DefaultBusyTimeoutMs = 60_000;
    private readonly PostgresAddress _address;
    private readonly NpgsqlDataSource _dataSource;
    private readonly TimeProvider? _stampClock;
    private readonly ConcurrentDictionary<string, string> _sql = new(StringComparer.Ordinal);
    private long _busyTimeoutMs = DefaultBusyTimeoutMs;
    private int _disposed;
    private IJobStore? _jobs;
    private IWorkerRegistry? _workers;
    private IConfigStore? _settings;
    private IOutputStore? _outputs;
    private INamedQueueStore? _queues;

    private PostgresDriver(PostgresAddress address, NpgsqlDataSource dataSource, TimeProvider clock, TimeProvider? stampClock)
    {
        _address = address;
        _dataSource = dataSource;
        Clock = clock;
        _stampClock = stampClock;
        Address = address.Display;
        LocalPath = DatabaseLocator.ServerQueuePath(address.Identity);
        Counts = new PostgresCounts(this);
    }

    public string Engine => "PostgreSQL";

    public string Address { get; }

    public string LocalPath { get; }

    public TimeProvider Clock { get; }

    public bool StampsWithClock => false;

    public QueueConfig Config => Volatile.Read(ref _loaded)?.Config ?? QueueConfig.Default;

    public TimeSpan BusyTimeout
    {
        get => TimeSpan.FromMilliseconds(Interlocked.Read(ref _busyTimeoutMs));
        set => Interlocked.Exchange(ref _busyTimeoutMs, (long)Math.Clamp(value.TotalMilliseconds, 0, int.MaxValue));
    }

    public IJobStore Jobs => _jobs ??= new PostgresJobStore(this);

    public IWorkerRegistry Workers => _workers ??= new PostgresWorkerRegistry(this);

    public IConfigStore Settings => _settings ??= new PostgresConfigStore(this);

    public IOutputStore Outputs => _outputs ??= new PostgresOutputStore(this);

    public INamedQueueStore Queues => _queues ??= new PostgresNamedQueueStore(this);

    public ILeaseStore Leases(string workerId, IReadOnlyList<string>? queues = null) => new PostgresLeaseStore(this, workerId, queues);

    public IQueueListener Listen(QueueChanges interest = QueueChanges.All) =>
        _address.Listen ? new PostgresListener(this, interest) : new PollingListener();

    /// <summary>The server reports damaged data or a damaged index (XX001, XX002): waiting does not cure it.</summary>
    public bool IsCorruption(QueueException error) =>
        PostgresErrors.SqlState(error) is PostgresErrors.DataCorrupted or PostgresErrors.IndexCorrupted;

    /// <summary>A lock (lock_timeout, 55P03) or a statement (statement_timeout, 57014) outlasted <see cref="BusyTimeout"/>.</summary>
    public bool IsLockTimeout(QueueException error) =>
        PostgresErrors.SqlState(error) is PostgresErrors.LockNotAvailable or PostgresErrors.QueryCanceled;

    /// <summary>The schema holding the queue, quoted.</summary>
    internal string Schema => _address.QuotedSchema;

    /// <summary>The LISTEN/NOTIFY channel of this queue: one per schema.</summary>
    internal string Channel => "qc_" + _address.Schema;

    /// <summary>Sent with this driver's notifications, so its own listeners can tell them from other processes' changes.</summary>
    internal string NotifyToken { get; } = Guid.NewGuid().ToString("N");

    internal PostgresAddress Parsed => _address;

    internal PostgresCounts Counts { get; }

    /// <summary>Opens the queue at <paramref name="address"/> and brings its schema up to date.</summary>
    public static IQueueDriver Open(string address, QueueOpenOptions options) => Open(address, options, null);

    /// <summary>
    /// As <see cref="Open(string, QueueOpenOptions)"/>; with <paramref name="stampClock"/> set, the store stamps and
    /// compares times with it instead of the server's clock, so tests can move time.
    /// </summary>
    internal static PostgresDriver Open(string address, QueueOpenOptions options, TimeProvider? stampClock)
    {
        var parsed = PostgresAddress.Parse(address, options.Credential);
        Tune(parsed.Builder, parsed.Listen);
        var dataSource = PostgresDataSources.Get(parsed.Builder);
        var db = new PostgresDriver(parsed, dataSource, options.Clock ?? TimeProvider.System, stampClock);
        try
        {
            db.Run(session => { PostgresSchema.Migrate(session, db); return 0; }, "cannot be opened");
            db.LoadConfig();
            return db;
        }
        catch
        {
            db.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Timeouts and keepalives that notice a cut link within seconds; settings the address gives win. The pool is the
    /// process's, shared by all its drivers on the server (a foreground group of many workers, a test run): Npgsql's
    /// default size stays, and idle connections close after a minute instead of five.
    /// A statement the client gives up on (a dead link: the server's own timeouts end slow statements) costs its command
    /// timeout plus up to twice the connect timeout, as Npgsql first tries to deliver a cancel request over a new
    /// connection; hence a short connect timeout (connect_timeout= in the address raises it).
    /// </summary>
    private static void Tune(NpgsqlConnectionStringBuilder b, bool listen)
    {
        if (b.ConnectionIdleLifetime == 300) b.ConnectionIdleLifetime = 60;
        if (b.Timeout == 15) b.Timeout = 3;
        if (!b.TcpKeepAlive)
        {
            b.TcpKeepAlive = true;
            if (b.TcpKeepAliveTime == 0) b.TcpKeepAliveTime = 5;
            if (b.TcpKeepAliveInterval == 0) b.TcpKeepAliveInterval = 2;
        }
        // A timed-out statement breaks its connection at once rather than waiting for the server to confirm a cancel
        // request: over a dead link no confirmation comes, and the pool is emptied anyway.
        if (b.CancellationTimeout == 2000) b.CancellationTimeout = -1;
        // Prepared statements live in a session, which a pooler in transaction mode (the reason for listen=false) does
        // not keep; everything else the driver relies on is transaction-scoped (set_config(…, true), advisory xact locks).
        if (b.MaxAutoPrepare == 0 && listen) b.MaxAutoPrepare = 64;
        if (string.IsNullOrEmpty(b.ApplicationName)) b.ApplicationName = "QueueCtl";
        // Nothing the driver does outlives its transaction, so a connection back in the pool needs no reset: with
        // prepared statements kept, Npgsql's reset is five statements before every transaction's first.
        b.NoResetOnClose = true;
    }

    /// <summary>
    /// Rereads the configuration, unless a listener of this driver has been connected since the last read and no
    /// change of it was notified: a worker asks at every change and heartbeat, and the answer is nearly always "same".
    /// </summary>
    public QueueConfig ReloadConfig()
    {
        var loaded = Volatile.Read(ref _loaded);
        if (Volatile.Read(ref _configWatchers) > 0 && loaded is not null && loaded.Version == Interlocked.Read(ref _configVersion))
            return loaded.Config;
        return LoadConfig();
    }

    /// <summary>A configuration as read, with the change count it was read at: one object, so both change together.</summary>
    private sealed record LoadedConfig(QueueConfig Config, long Version);

    private int _configWatchers;
    private long _configVersion;
    private LoadedConfig? _loaded;

    /// <summary>A listener of this driver connected (true) or lost its connection (false).</summary>
    internal void ConfigWatched(bool connected)
    {
        if (connected) ConfigMayHaveChanged();
        Interlocked.Add(ref _configWatchers, connected ? 1 : -1);
    }

    /// <summary>A listener saw a configuration change by another process, or may have missed one.</summary>
    internal void ConfigMayHaveChanged() => Interlocked.Increment(ref _configVersion);

    /// <summary>This driver changed the configuration: its own notification is not heard by its listeners, so it rereads.</summary>
    internal void ConfigChangedHere()
    {
        ConfigMayHaveChanged();
        LoadConfig();
    }

    /// <summary>
    /// Reads the configuration from the queue. Of two reads at once, the one begun at the later change count is kept,
    /// so an older read can never be taken for the current one.
    /// </summary>
    internal QueueConfig LoadConfig()
    {
        var version = Interlocked.Read(ref _configVersion);
        var stored = Run(s => s.Query("SELECT name, value FROM {s}.config", r => (r.GetString(0), r.GetString(1))))
            .ToDictionary(x => x.Item1, x => x.Item2, StringComparer.OrdinalIgnoreCase);
        // The synchronous setting is SQLite's: it is stored and shown like any other, and means nothing here.
        var read = new LoadedConfig(QueueConfig.From(stored), version);
        while (true)
        {
            var current = Volatile.Read(ref _loaded);
            if (current is not null && current.Version > version) break;
            if (Interlocked.CompareExchange(ref _loaded, read, current) == current) break;
        }
        return Config;
    }

    /// <summary>The SQL with {s} replaced by the quoted schema and {now} by the transaction's time, built once per text.</summary>
    internal string Sql(string template) => _sql.GetOrAdd(template, t => t.Replace("{s}", Schema, StringComparison.Ordinal)
        .Replace("{now}", PgSession.NowSql, StringComparison.Ordinal));

    /// <summary>
    /// Runs <paramref name="work"/> in one transaction on a pooled connection: all of it commits, or none of it. Failures
    /// of the server or the link become QueueException(DatabaseUnavailable); after a broken connection the pool is
    /// emptied, so the next call connects afresh.
    /// </summary>
    internal T Run<T>(Func<PgSession, T> work, string what = "cannot be used") => Run(work, what, SessionKind.Transaction);

    /// <summary>As <see cref="Run{T}(Func{PgSession, T}, string)"/>, for a worker's work: see <see cref="PgSession"/>'s byIndex.</summary>
    internal T RunByIndex<T>(Func<PgSession, T> work) => Run(work, "cannot be used", SessionKind.ByIndex);

    /// <summary>
    /// As <see cref="RunByIndex{T}"/>, for work sent as one batch (<see cref="PgSession.RunAsOne"/>): one round trip
    /// instead of three (start, work, commit).
    /// </summary>
    internal T RunOneBatch<T>(Func<PgSession, T> work) => Run(work, "cannot be used", SessionKind.OneBatch);

    private enum SessionKind { Transaction, ByIndex, OneBatch }

    private T Run<T>(Func<PgSession, T> work, string what, SessionKind kind)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        for (var attempt = 1; ; attempt++)
        {
            NpgsqlConnection? connection = null;
            PgSession? session = null;
            try
            {
                connection = _dataSource.OpenConnection();
                if (kind == SessionKind.OneBatch)
                {
                    session = PgSession.OneBatch(this, connection, BusyTimeout, StampedNow(), byIndex: true);
                    var done = work(session);
                    session.EnsureNothingLeft();
                    return done;
                }
                using var transaction = connection.BeginTransaction();
                session = new PgSession(this, connection, transaction, BusyTimeout, StampedNow(), kind == SessionKind.ByIndex);
                var result = work(session);
                session.SendNotifications();
                transaction.Commit();
                return result;
            }
            catch (PostgresException ex) when (attempt < MaxAttempts && PostgresErrors.IsRetryable(ex))
            {
                // A deadlock or serialization failure rolled the whole transaction back: run it again.
            }
            catch (Exception ex) when (attempt == 1 && NothingDone(session, ex) && PostgresErrors.IsClosedConnection(ex))
            {
                // A pooled connection the server closed while it sat idle (a restart, an idle timeout): nothing of the
                // work was done, so it runs once more on a fresh connection.
                _dataSource.Clear();
            }
            catch (Exception ex) when (PostgresErrors.IsStoreFailure(ex))
            {
                if (PostgresErrors.IsBrokenConnection(ex)) _dataSource.Clear();
                throw PostgresErrors.Wrap(ex, Address, _address.Builder.Password, what);
            }
            finally
            {
                connection?.Dispose();
            }
        }
    }

    /// <summary>
    /// Whether a failure left the work undone for certain. A transaction's start is sent before its work, so a failure
    /// there did nothing. A one-batch session sends its work with its start; its statements commit together only
    /// after all of them ran, so when the server said why it closed the connection (57P01 on a restart or a
    /// terminated backend, before even the start's result), none of it committed. A failure to read a reply that
    /// may have followed a commit proves nothing.
    /// </summary>
    private static bool NothingDone(PgSession? session, Exception ex) =>
        session is null || !session.Sent
        || (!session.Started && PostgresErrors.Find<PostgresException>(ex) is { } pg && pg.SqlState.StartsWith("57P", StringComparison.Ordinal));

    private const int MaxAttempts = 3;

    internal void Run(Action<PgSession> work) => Run(s => { work(s); return 0; });

    private long? StampedNow() => _stampClock?.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>A connection of its own, outside the pool, for a listener (not opened yet).</summary>
    /// <remarks>A listener only reads, so only a query of its own notices a link that died without a word (Npgsql's keepalive,
    /// every 5 s unless the address sets it); pooled connections are checked by their next use and the kernel's probes.</remarks>
    internal NpgsqlConnection CreateListenerConnection()
    {
        var b = new NpgsqlConnectionStringBuilder(_address.Builder.ConnectionString) { Pooling = false, MaxAutoPrepare = 0 };
        if (b.KeepAlive == 0) b.KeepAlive = 5;
        return new NpgsqlConnection(b.ConnectionString);
    }

    public void Dispose()
    {
        // The pool is shared with the process's other drivers (PostgresDataSources): it stays.
        Interlocked.Exchange(ref _disposed, 1);
    }
}
