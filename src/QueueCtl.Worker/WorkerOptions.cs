namespace QueueCtl.Worker;

/// <summary>How one worker runs.</summary>
public sealed record WorkerOptions
{
    public required string WorkerId { get; init; }
    /// <summary>Jobs run at once by this worker.</summary>
    public int Concurrency { get; init; } = 1;
    /// <summary>The named queues this worker takes jobs from; null for every queue.</summary>
    public IReadOnlyList<string>? Queues { get; init; }
    public string? LogPath { get; init; }
    public string? Version { get; init; }
    /// <summary>Stop once no job is Pending, Failed or Processing in the queues it serves (drain, then exit).</summary>
    public bool ExitWhenEmpty { get; init; }
    /// <summary>Overrides the heartbeat period (default: a sixth of the lease, between 0.1 s and 5 s).</summary>
    public TimeSpan? HeartbeatInterval { get; init; }

    /// <summary>A fresh worker id: the host name and a short random suffix, so a list of workers reads well.</summary>
    public static string NewWorkerId()
    {
        var host = new string(Environment.MachineName.ToLowerInvariant().Where(char.IsLetterOrDigit).Take(20).ToArray());
        return $"{(host.Length > 0 ? host : "worker")}-{Jobs.JobIds.Random(6)}";
    }
}
