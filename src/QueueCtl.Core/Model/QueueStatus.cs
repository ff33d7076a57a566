namespace QueueCtl;

/// <summary>The queue at a glance: jobs per state, live workers, and how long the oldest pending job has waited.</summary>
public sealed class QueueStatus
{
    public long Pending { get; init; }
    public long Processing { get; init; }
    public long Completed { get; init; }
    public long Failed { get; init; }
    public long Dead { get; init; }
    public long Cancelled { get; init; }
    public long Total => Pending + Processing + Completed + Failed + Dead + Cancelled;
    public int Workers { get; init; }
    public TimeSpan? OldestPendingAge { get; init; }
    public string Database { get; init; } = "";
}
