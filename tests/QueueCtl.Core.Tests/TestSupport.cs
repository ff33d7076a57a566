using QueueCtl.Storage;
using QueueCtl.Storage.Sqlite;

namespace QueueCtl.Tests;

/// <summary>A clock the test moves by hand, so backoff and leases are tested without sleeping.</summary>
public sealed class ManualClock : TimeProvider
{
    private DateTimeOffset _now;

    public ManualClock(DateTimeOffset? start = null) => _now = start ?? new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

    public override DateTimeOffset GetUtcNow() { lock (this) return _now; }

    public void Advance(TimeSpan by) { lock (this) _now += by; }

    public DateTime UtcNow => GetUtcNow().UtcDateTime;
}

/// <summary>The storage engines every conformance fact runs against.</summary>
public enum DriverKind
{
    Sqlite,
    Postgres,
}

/// <summary>
/// A real, empty queue, deleted afterwards: a file in a fresh temporary folder (SQLite), or a fresh schema on the test
/// PostgreSQL server. A <see cref="ManualClock"/> moves the time the store stamps and compares on either engine (on
/// PostgreSQL through the driver's test-only stamping clock: River's model), so backoff and leases are tested without
/// sleeping.
/// </summary>
public sealed class TempQueue : IDisposable
{
    private readonly List<IQueueDriver> _opened = new();

    public TempQueue(TimeProvider? clock = null) : this(DriverKind.Sqlite, clock)
    {
    }

    public TempQueue(DriverKind kind, TimeProvider? clock = null)
    {
        Kind = kind;
        Folder = Path.Combine(Path.GetTempPath(), "queuectl-tests", Guid.NewGuid().ToString("n"));
        Directory.CreateDirectory(Folder);
        Path_ = kind == DriverKind.Sqlite ? System.IO.Path.Combine(Folder, "queue.db") : TestPostgres.NewSchemaAddress();
        Clock = clock ?? new ManualClock();
        Db = Open();
    }

    public DriverKind Kind { get; }
    public string Folder { get; }

    /// <summary>The queue's address: the file's path, or a postgres:// URI naming the schema.</summary>
    public string Path_ { get; }
    public TimeProvider Clock { get; }
    public ManualClock Manual => (ManualClock)Clock;
    public IQueueDriver Db { get; }
    public IJobStore Jobs => Db.Jobs;

    /// <summary>The SQLite driver, for facts about SQLite itself.</summary>
    public SqliteDriver Sqlite => (SqliteDriver)Db;

    /// <summary>Another connection to the same queue, as another process would have.</summary>
    public IQueueDriver Open()
    {
        IQueueDriver db = Kind == DriverKind.Sqlite
            ? SqliteDriver.Open(Path_, Clock)
            : Storage.Postgres.PostgresDriver.Open(Path_, new QueueOpenOptions { Clock = Clock }, Clock as ManualClock);
        lock (_opened) _opened.Add(db);
        return db;
    }

    public void Dispose()
    {
        lock (_opened) foreach (var db in _opened) db.Dispose();
        if (Kind == DriverKind.Postgres) TestPostgres.DropSchemaOf(Path_);
        try { Directory.Delete(Folder, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>
/// A conformance fact class: its facts run once per engine, through a derived class per engine (River's
/// riverdrivertest is the model). The queue is made on first use, inside the fact, so an engine that cannot be had
/// here is reported as skipped.
/// </summary>
public abstract class DriverFacts : IDisposable
{
    private readonly TimeProvider? _clock;
    private TempQueue? _queue;

    protected DriverFacts(DriverKind kind, TimeProvider? clock = null)
    {
        Kind = kind;
        _clock = clock;
    }

    protected DriverKind Kind { get; }

    protected TempQueue Queue
    {
        get
        {
            if (_queue is not null) return _queue;
            if (Kind == DriverKind.Postgres) TestPostgres.SkipUnlessAvailable();
            return _queue = new TempQueue(Kind, _clock);
        }
    }

    public virtual void Dispose() => _queue?.Dispose();
}

/// <summary>
/// The PostgreSQL server the tests use: $QUEUECTL_TEST_POSTGRES (a postgres:// URI; the password comes from
/// PGPASSWORD), which build.ps1 Test sets after starting a throwaway server. Without one the PostgreSQL facts are
/// skipped, loudly; under CI=true they fail instead.
/// </summary>
public static class TestPostgres
{
    public const string Variable = "QUEUECTL_TEST_POSTGRES";

    public static string? Uri => Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } uri ? uri : null;

    public static void SkipUnlessAvailable()
    {
        if (Uri is not null) return;
        const string why = $"PostgreSQL facts need a server: set {Variable} (build.ps1 Test starts one).";
        if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
            throw new InvalidOperationException(why + " Under CI=true a missing server is a failure.");
        Console.Error.WriteLine("WARNING: SKIPPED: " + why);
        Skip.If(true, why);
    }

    /// <summary>The test server's address with a fresh schema of its own.</summary>
    public static string NewSchemaAddress()
    {
        var uri = Uri ?? throw new InvalidOperationException($"{Variable} is not set.");
        return uri + (uri.Contains('?') ? "&" : "?") + "schema=t_" + Guid.NewGuid().ToString("n")[..12];
    }

    /// <summary>Drops the schema of a test queue; one left behind (the server was gone) has a unique name.</summary>
    public static void DropSchemaOf(string address)
    {
        var parsed = Storage.Postgres.PostgresAddress.Parse(address, null);
        try
        {
            using var connection = new Npgsql.NpgsqlConnection(parsed.Builder.ConnectionString);
            connection.Open();
            using var command = new Npgsql.NpgsqlCommand($"DROP SCHEMA IF EXISTS {parsed.QuotedSchema} CASCADE", connection);
            command.ExecuteNonQuery();
        }
        catch (Npgsql.NpgsqlException)
        {
        }
    }
}

internal static class TestAssemblySetup
{
    /// <summary>
    /// Several tests block pool threads while waiting for child processes; with two cores the pool would grow too
    /// slowly for the async process plumbing under test, and timings would measure the pool, not the code.
    /// </summary>
    [System.Runtime.CompilerServices.ModuleInitializer]
    internal static void GrowThreadPool() => ThreadPool.SetMinThreads(32, 32);
}
