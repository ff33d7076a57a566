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

/// <summary>A real queue file in a fresh temporary folder, deleted afterwards.</summary>
public sealed class TempQueue : IDisposable
{
    private readonly List<SqliteDriver> _opened = new();

    public TempQueue(TimeProvider? clock = null)
    {
        Folder = Path.Combine(Path.GetTempPath(), "queuectl-tests", Guid.NewGuid().ToString("n"));
        Directory.CreateDirectory(Folder);
        Path_ = System.IO.Path.Combine(Folder, "queue.db");
        Clock = clock ?? new ManualClock();
        Db = Open();
    }

    public string Folder { get; }
    public string Path_ { get; }
    public TimeProvider Clock { get; }
    public ManualClock Manual => (ManualClock)Clock;
    public SqliteDriver Db { get; }
    public IJobStore Jobs => Db.Jobs;

    /// <summary>Another connection to the same file, as another process would have.</summary>
    public SqliteDriver Open()
    {
        var db = SqliteDriver.Open(Path_, Clock);
        lock (_opened) _opened.Add(db);
        return db;
    }

    public void Dispose()
    {
        lock (_opened) foreach (var db in _opened) db.Dispose();
        try { Directory.Delete(Folder, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
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
