namespace QueueCtl;

/// <summary>A named queue's own settings. A queue nobody has set anything on is not paused.</summary>
public sealed class NamedQueue
{
    public required string Name { get; init; }
    /// <summary>Workers claim nothing from a paused queue; its jobs stay Pending and its running jobs finish.</summary>
    public bool IsPaused { get; init; }
    /// <summary>When the queue was last paused or resumed, or null when it never was.</summary>
    public DateTime? ChangedAt { get; init; }
    /// <summary>Jobs waiting for their first run (or for their due time).</summary>
    public long Pending { get; init; }
    /// <summary>Jobs whose last run failed, waiting for a retry.</summary>
    public long Failed { get; init; }
    /// <summary>Jobs running now.</summary>
    public long Processing { get; init; }
    /// <summary>The queue database this queue lives in.</summary>
    public string? Database { get; init; }

    public override string ToString() => Name;
}
