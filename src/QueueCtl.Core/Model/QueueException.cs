namespace QueueCtl;

/// <summary>The stable reasons the engine refuses a request. Each name is also the PowerShell ErrorId.</summary>
public enum QueueErrorCode
{
    InvalidJobSpec,
    InvalidJson,
    JobAlreadyExists,
    JobNotFound,
    InvalidJobState,
    UnknownConfigName,
    InvalidConfigValue,
    WorkerNotFound,
    DatabaseUnavailable,
    DatabaseTooNew,
    /// <summary>A wildcard pattern that cannot be matched, such as '[]' or '[z-a]'.</summary>
    InvalidWildcardPattern,
    /// <summary>A worker id that could not safely name the worker's files.</summary>
    InvalidWorkerId,
    /// <summary>A database given as an address (scheme://…) rather than a file path.</summary>
    UnsupportedDatabaseAddress,
    /// <summary>A queue file or folder others may write, which QueueCtl could not make private.</summary>
    InsecurePermissions,
    /// <summary>A file QueueCtl would write exists already.</summary>
    DestinationExists,
    /// <summary>A backup could not be written.</summary>
    BackupFailed,
    /// <summary>A queue name that is empty, too long or has characters a queue name may not have.</summary>
    InvalidQueueName,
}

/// <summary>A refusal the user can act on; its message is meant to be read, not its stack.</summary>
public sealed class QueueException : Exception
{
    public QueueException(QueueErrorCode code, string message, Exception? inner = null) : base(message, inner) => Code = code;

    public QueueErrorCode Code { get; }
}
