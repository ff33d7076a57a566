namespace QueueCtl;

/// <summary>What Test-Queue concludes.</summary>
public enum QueueHealth
{
    /// <summary>The file is sound and every check agrees.</summary>
    OK,
    /// <summary>The file is sound but something disagrees (counters, orphaned rows, schema, settings); see Problems.</summary>
    Inconsistent,
    /// <summary>SQLite's integrity check fails, or the file cannot be read as a database.</summary>
    Corrupt,
}

/// <summary>A per-state counter that disagrees with the jobs it counts.</summary>
public sealed record QueueCountMismatch(QueueJobState State, long Kept, long Actual)
{
    public override string ToString() => $"{State}: counter says {Kept}, jobs say {Actual}";
}

/// <summary>The result of checking a queue file.</summary>
public sealed class QueueHealthReport
{
    public required string Database { get; init; }
    public QueueHealth Verdict { get; init; }
    /// <summary>PRAGMA user_version of the file, or null when it could not be read.</summary>
    public long? SchemaVersion { get; init; }
    public int ExpectedSchemaVersion { get; init; }
    /// <summary>What SQLite's integrity check reported (empty when it said ok).</summary>
    public IReadOnlyList<string> IntegrityErrors { get; init; } = Array.Empty<string>();
    public IReadOnlyList<QueueCountMismatch> CounterMismatches { get; init; } = Array.Empty<QueueCountMismatch>();
    /// <summary>Output rows whose job no longer exists.</summary>
    public long OrphanedOutputs { get; init; }
    /// <summary>Processing jobs whose worker is not registered (their lease expiry recovers them).</summary>
    public long OrphanedLeases { get; init; }
    /// <summary>Every finding, one sentence each; empty when the verdict is OK.</summary>
    public IReadOnlyList<string> Problems { get; init; } = Array.Empty<string>();
    /// <summary>What -Repair changed.</summary>
    public IReadOnlyList<string> Repaired { get; init; } = Array.Empty<string>();

    public bool IsHealthy => Verdict == QueueHealth.OK;

    public override string ToString() => $"{Verdict}: {Database}";
}
