using System.Runtime.CompilerServices;
using Npgsql;
using QueueCtl.Storage;
using QueueCtl.Storage.Postgres;

namespace QueueCtl.Postgres.Tests;

/// <summary>A clock the test moves by hand: the driver stamps every time with it instead of the server's clock.</summary>
public sealed class ManualClock : TimeProvider
{
    private DateTimeOffset _now;

    public ManualClock(DateTimeOffset? start = null) => _now = start ?? new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

    public override DateTimeOffset GetUtcNow() { lock (this) return _now; }

    public void Advance(TimeSpan by) { lock (this) _now += by; }

    public DateTime UtcNow => GetUtcNow().UtcDateTime;
}

/// <summary>
/// Queues on the test server, one fresh schema per test (dropped afterwards). The server is named by
/// QUEUECTL_TEST_POSTGRES (postgres://user@host:port/db; the password comes from PGPASSWORD). When it is unset a test
/// fails under CI=true, and is otherwise skipped with a warning on stderr (xunit 2 has no dynamic skip).
/// </summary>
public sealed class PgQueues : IDisposable
{
    public const string Variable = "QUEUECTL_TEST_POSTGRES";
    private readonly List<IQueueDriver> _opened = new();

    public static string? Server => Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } s ? s : null;

    /// <summary>True when a server is configured; see the class remarks for when it is not.</summary>
    public static bool Ready([CallerMemberName] string test = "")
    {
        if (Server is not null) return true;
        var message = $"{Variable} is not set: the PostgreSQL driver tests need a server (a postgres:// URI; password in PGPASSWORD).";
        if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
            Assert.Fail(message);
        Console.Error.WriteLine($"WARNING: {test} SKIPPED. {message}");
        return false;
    }

    public string Schema { get; } = NewSchema();

    public static string NewSchema() => "t_" + Guid.NewGuid().ToString("N")[..16];

    public static string AddressOf(string schema) => Server + (Server!.Contains('?') ? "&" : "?") + "schema=" + schema;

    public string Address => AddressOf(Schema);

    /// <summary>Opens the test schema's queue; with <paramref name="stampClock"/> the store's times come from it.</summary>
    public IQueueDriver Open(TimeProvider? stampClock = null, string? schema = null, string? query = null)
    {
        var db = PostgresDriver.Open(AddressOf(schema ?? Schema) + (query is null ? "" : "&" + query), QueueOpenOptions.Default, stampClock);
        lock (_opened) _opened.Add(db);
        return db;
    }

    /// <summary>A plain connection to the test server, for test-only SQL (the driver's own never needs one).</summary>
    public static NpgsqlConnection Admin()
    {
        var parsed = PostgresAddress.Parse(Server!, null);
        var connection = new NpgsqlConnection(parsed.Builder.ConnectionString);
        connection.Open();
        return connection;
    }

    public static long Scalar(string sql)
    {
        using var connection = Admin();
        using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 600 };
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    public static void Execute(string sql)
    {
        using var connection = Admin();
        using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 600 };
        command.ExecuteNonQuery();
    }

    public void Dispose()
    {
        lock (_opened)
        {
            foreach (var db in _opened) db.Dispose();
            _opened.Clear();
        }
        if (Server is null) return;
        try
        {
            Execute($"DROP SCHEMA IF EXISTS \"{Schema}\" CASCADE");
        }
        catch (NpgsqlException)
        {
            // Left for a later clean-up: the schema name is unique.
        }
    }
}
