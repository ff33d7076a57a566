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
}

/// <summary>A refusal the user can act on; its message is meant to be read, not its stack.</summary>
public sealed class QueueException : Exception
{
    public QueueException(QueueErrorCode code, string message, Exception? inner = null) : base(message, inner) => Code = code;

    public QueueErrorCode Code { get; }
}
