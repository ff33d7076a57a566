namespace QueueCtl;

/// <summary>A job as stored in the queue. Times are UTC.</summary>
public sealed class QueueJob
{
    public required string Id { get; init; }
    public QueueJobKind Kind { get; init; }
    /// <summary>The named queue the job is in.</summary>
    public string Queue { get; init; } = QueueNames.Default;
    /// <summary>Higher runs first (-100 to 100).</summary>
    public int Priority { get; init; }
    /// <summary>Labels the job was enqueued with.</summary>
    public IReadOnlyList<string> Tags { get; init; } = Array.Empty<string>();
    public required string Command { get; init; }
    /// <summary>Serialized arguments of a script-block job (CliXml), or null.</summary>
    public string? Arguments { get; init; }
    public string? WorkingDirectory { get; init; }
    public QueueJobState State { get; init; }
    /// <summary>Runs since the job was enqueued or last retried from the DLQ.</summary>
    public int Attempts { get; init; }
    /// <summary>Runs in the job's whole life; each run's output is kept under this number.</summary>
    public int Runs { get; init; }
    public int MaxRetries { get; init; }
    /// <summary>The job's own timeout, or null to use the configured default.</summary>
    public TimeSpan? Timeout { get; init; }
    public DateTime CreatedAt { get; init; }
    public DateTime UpdatedAt { get; init; }
    public DateTime RunAt { get; init; }
    public DateTime? StartedAt { get; init; }
    public DateTime? FinishedAt { get; init; }
    public int? ExitCode { get; init; }
    public string? LastError { get; init; }
    public string? WorkerId { get; init; }
    public bool CancelRequested { get; init; }
    public IReadOnlyList<QueueJobError> Errors { get; init; } = Array.Empty<QueueJobError>();
    /// <summary>The queue database this job lives in.</summary>
    public string? Database { get; init; }

    /// <summary>How long the last run took, or has been running so far.</summary>
    public TimeSpan? Duration => StartedAt is null ? null
        : (FinishedAt ?? (State == QueueJobState.Processing ? DateTime.UtcNow : StartedAt)) - StartedAt;

    public override string ToString() => Id;
}
