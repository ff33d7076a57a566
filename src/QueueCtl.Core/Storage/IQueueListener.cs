namespace QueueCtl.Storage;

/// <summary>
/// Waits for other processes' changes to the queue: the wake-up path of idle workers and waiting cmdlets. Idle, it
/// costs nothing (no polling); where the engine cannot notify, waits simply time out, so callers always pass their
/// safety-net poll interval.
/// </summary>
public interface IQueueListener : IDisposable
{
    /// <summary>False when no notifications arrive and only the caller's timeout applies.</summary>
    bool IsWatching { get; }

    /// <summary>Wakes <see cref="Wait"/> for a reason inside this process. Thread-safe.</summary>
    void Poke();

    /// <summary>
    /// The kinds of the changes made by other connections since the last call (each reported once), among those the
    /// listener was opened for; <see cref="QueueChanges.None"/> when there were none.
    /// </summary>
    QueueChanges TakeChanges();

    /// <summary>
    /// Blocks until another connection's change is visible, <see cref="Poke"/> is called, or <paramref name="timeout"/>
    /// passes. Returns true for a visible change. Does not consume the change: <see cref="TakeChanges"/> still reports it.
    /// With <paramref name="waitForWriters"/> false, a change that is not visible yet is left for a later look instead of
    /// waiting on the writer: for a caller that is busy anyway.
    /// </summary>
    bool Wait(TimeSpan timeout, bool waitForWriters = true);
}
