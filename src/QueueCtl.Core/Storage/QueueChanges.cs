namespace QueueCtl.Storage;

/// <summary>
/// What kind of change a listener reports. An engine that cannot tell kinds apart (SQLite's file signal, a poll)
/// reports <see cref="All"/>; PostgreSQL's notifications carry their kind, so a worker is not woken by what it does
/// not act on (another worker's finished jobs) and rereads the configuration only when it changed.
/// </summary>
[Flags]
public enum QueueChanges
{
    None = 0,

    /// <summary>Jobs may have become claimable: enqueued, retried, put back by a recovery or a failed run.</summary>
    Ready = 1,

    /// <summary>Jobs reached a final state or were removed.</summary>
    Finished = 2,

    /// <summary>The queue's configuration changed.</summary>
    Config = 4,

    /// <summary>Workers signed on, changed state or were asked to stop, or a running job was asked to cancel.</summary>
    Control = 8,

    All = Ready | Finished | Config | Control,
}
