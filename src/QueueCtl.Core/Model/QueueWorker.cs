namespace QueueCtl;

public enum QueueWorkerState
{
    /// <summary>Started by Start-QueueWorker; the process has not registered yet.</summary>
    Starting,
    /// <summary>Claiming and running jobs.</summary>
    Running,
    /// <summary>Asked to stop: finishing its running jobs, claiming no new ones.</summary>
    Stopping,
    /// <summary>Exited cleanly.</summary>
    Stopped,
    /// <summary>Stopped heartbeating (killed, crashed, machine gone); its jobs are recovered.</summary>
    Lost,
}

/// <summary>A worker process as registered in the queue. Times are UTC.</summary>
public sealed class QueueWorker
{
    public required string Id { get; init; }
    public int ProcessId { get; init; }
    public required string HostName { get; init; }
    public QueueWorkerState State { get; init; }
    public int Concurrency { get; init; }
    public DateTime StartedAt { get; init; }
    public DateTime HeartbeatAt { get; init; }
    public TimeSpan HeartbeatAge { get; init; }
    public DateTime? StoppedAt { get; init; }
    public bool StopRequested { get; init; }
    public long JobsDone { get; init; }
    public long JobsFailed { get; init; }
    public IReadOnlyList<string> CurrentJobs { get; init; } = Array.Empty<string>();
    public string? LogPath { get; init; }
    public string? Version { get; init; }
    public string? Database { get; init; }

    /// <summary>How long the worker has been running (or ran, once stopped).</summary>
    public TimeSpan Uptime => (StoppedAt ?? (IsAlive ? DateTime.UtcNow : HeartbeatAt)) - StartedAt;

    public bool IsAlive => State is QueueWorkerState.Starting or QueueWorkerState.Running or QueueWorkerState.Stopping;

    public override string ToString() => Id;
}
