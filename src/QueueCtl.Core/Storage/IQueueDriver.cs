using QueueCtl.Configuration;

namespace QueueCtl.Storage;

/// <summary>
/// One open queue on one storage engine: the seam between the engine and its storage. Everything above it (the worker
/// host, the cmdlets, the CLI) speaks to these interfaces only; SQL, PRAGMAs, connection strings and file paths of the
/// store stay inside the drivers. <see cref="QueueDrivers.Open"/> picks the driver from the queue's address.
/// Every member is thread-safe: a worker shares one driver between its loop and its heartbeat.
/// </summary>
public interface IQueueDriver : IDisposable
{
    /// <summary>The engine's name, as users know it: "SQLite" or "PostgreSQL".</summary>
    string Engine { get; }

    /// <summary>The queue's address as shown to users and written to logs: a full file path, or a URI without a password.</summary>
    string Address { get; }

    /// <summary>
    /// A file path that names this queue on this machine. The worker files (logs, the job processes of each worker,
    /// supervisor files) live beside it: the queue file itself for SQLite, a per-queue name in the user's data folder
    /// for a server.
    /// </summary>
    string LocalPath { get; }

    /// <summary>
    /// The clock a worker fences its own runs with. SQLite also stamps state changes with it; a server engine stamps
    /// them with the server's clock, so hosts whose clocks disagree still agree on every lease.
    /// </summary>
    TimeProvider Clock { get; }

    /// <summary>
    /// True when the store stamps times with <see cref="Clock"/> (SQLite: one file, one machine, one clock), so a
    /// lease's end may be compared with this process's wall clock; false when the server's clock stamps them, and only
    /// elapsed time measured here says how much of a lease is left.
    /// </summary>
    bool StampsWithClock { get; }

    /// <summary>The configuration as of the last <see cref="ReloadConfig"/>.</summary>
    QueueConfig Config { get; }

    /// <summary>Re-reads the stored configuration.</summary>
    QueueConfig ReloadConfig();

    /// <summary>
    /// How long one storage call may wait for locks or for the server before it fails with DatabaseUnavailable. A
    /// worker shortens it so a stalled store cannot hold up its heartbeats and self-fencing.
    /// </summary>
    TimeSpan BusyTimeout { get; set; }

    IJobStore Jobs { get; }

    IWorkerRegistry Workers { get; }

    IConfigStore Settings { get; }

    IOutputStore Outputs { get; }

    INamedQueueStore Queues { get; }

    /// <summary>The claims, leases and finishes of one worker, taking jobs from <paramref name="queues"/> (every queue when null).</summary>
    ILeaseStore Leases(string workerId, IReadOnlyList<string>? queues = null);

    /// <summary>
    /// A new listener for other processes' changes to the queue, of the kinds in <paramref name="interest"/> (an engine
    /// that cannot tell kinds apart reports every change). The caller disposes it.
    /// </summary>
    IQueueListener Listen(QueueChanges interest = QueueChanges.All);

    /// <summary>True when <paramref name="error"/> says the store is damaged: waiting does not cure it.</summary>
    bool IsCorruption(QueueException error);

    /// <summary>True when <paramref name="error"/> is another writer's lock outlasting <see cref="BusyTimeout"/>.</summary>
    bool IsLockTimeout(QueueException error);
}
