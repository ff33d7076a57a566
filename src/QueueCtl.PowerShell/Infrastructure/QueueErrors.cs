using System.Management.Automation;

namespace QueueCtl.PowerShell.Infrastructure;

/// <summary>Turns engine refusals into ErrorRecords with a stable ErrorId (the code's name) and the right category.</summary>
internal static class QueueErrors
{
    public static ErrorRecord ToRecord(QueueException ex, object? target) =>
        new(ex, ex.Code.ToString(), Category(ex.Code), target);

    public static ErrorRecord Record(string errorId, ErrorCategory category, string message, object? target, Exception? inner = null) =>
        new(new InvalidOperationException(message, inner), errorId, category, target);

    public static ErrorCategory Category(QueueErrorCode code) => code switch
    {
        QueueErrorCode.InvalidJobSpec or QueueErrorCode.InvalidJson or QueueErrorCode.UnknownConfigName
            or QueueErrorCode.InvalidConfigValue or QueueErrorCode.InvalidWildcardPattern or QueueErrorCode.InvalidWorkerId
            or QueueErrorCode.UnsupportedDatabaseAddress or QueueErrorCode.InvalidQueueName => ErrorCategory.InvalidArgument,
        QueueErrorCode.JobAlreadyExists or QueueErrorCode.DestinationExists => ErrorCategory.ResourceExists,
        QueueErrorCode.InsecurePermissions => ErrorCategory.SecurityError,
        QueueErrorCode.BackupFailed => ErrorCategory.WriteError,
        QueueErrorCode.JobNotFound or QueueErrorCode.WorkerNotFound => ErrorCategory.ObjectNotFound,
        QueueErrorCode.InvalidJobState => ErrorCategory.InvalidOperation,
        QueueErrorCode.DatabaseUnavailable => ErrorCategory.ResourceUnavailable,
        QueueErrorCode.DatabaseTooNew => ErrorCategory.InvalidData,
        _ => ErrorCategory.NotSpecified,
    };
}
