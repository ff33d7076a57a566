namespace QueueCtl.Storage;

/// <summary>The workers table: registration, heartbeats, stop requests, and who is alive.</summary>
public interface IWorkerRegistry
{
    /// <summary>Records a worker about to start (Start-QueueWorker) or starting in this process, on this machine.</summary>
    void Register(string id, QueueWorkerState state, int processId, DateTime? processStartedAt, int concurrency,
        string? logPath, string? version);

    /// <summary>Records the process launched for a worker that has not registered itself yet.</summary>
    void SetProcess(string id, int processId, DateTime? processStartedAt);

    QueueWorker? Find(string id);

    /// <summary>Refreshes a worker's heartbeat. Returns whether a stop has been requested.</summary>
    bool Heartbeat(string id);

    bool IsStopRequested(string id);

    void SetState(string id, QueueWorkerState state);

    /// <summary>Asks a live worker to stop after its running jobs. Returns false when it is not alive.</summary>
    bool RequestStop(string id);

    /// <summary>
    /// Workers, newest first. A live worker whose heartbeat is older than the lease is reported Lost, and so is one on
    /// this machine whose process is gone.
    /// </summary>
    IReadOnlyList<QueueWorker> List();

    /// <summary>Live workers registered from this machine, with the process identity needed to check they still exist.</summary>
    IReadOnlyList<(string Id, int Pid, long? ProcessStartedAt)> LiveOnThisHost();

    /// <summary>
    /// The process and heartbeat age of each of <paramref name="ids"/> registered from this machine, whatever its
    /// recorded state: a worker marked Lost may still have a process (frozen, or stopped with SIGSTOP) whose job
    /// processes run on. The age is measured by the store's clock, the one that stamped the heartbeat.
    /// </summary>
    IReadOnlyList<(string Id, int Pid, long? ProcessStartedAt, TimeSpan HeartbeatAge)> OnThisHost(IReadOnlyList<string> ids);

    /// <summary>Marks live workers whose heartbeat is older than the lease as Lost.</summary>
    int MarkSilentWorkersLost();

    /// <summary>Forgets workers that stopped or were lost more than <paramref name="age"/> ago.</summary>
    int Prune(TimeSpan age);
}
