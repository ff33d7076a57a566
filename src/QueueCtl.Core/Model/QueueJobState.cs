namespace QueueCtl;

/// <summary>Where a job is in its lifecycle.</summary>
public enum QueueJobState
{
    /// <summary>Waiting to be claimed by a worker.</summary>
    Pending,
    /// <summary>Claimed by a worker that holds its lease.</summary>
    Processing,
    /// <summary>Finished with exit code 0. Final.</summary>
    Completed,
    /// <summary>The last run failed; a retry is scheduled at <see cref="QueueJob.RunAt"/>.</summary>
    Failed,
    /// <summary>Every allowed run failed: the job is in the dead letter queue. Final until retried.</summary>
    Dead,
    /// <summary>Cancelled by a user before it finished. Final.</summary>
    Cancelled,
}

/// <summary>What a job runs.</summary>
public enum QueueJobKind
{
    /// <summary>A command line run by the platform shell.</summary>
    Command,
    /// <summary>PowerShell script text run in a runspace inside the worker.</summary>
    ScriptBlock,
}

public static class QueueJobStates
{
    /// <summary>States a job never leaves on its own.</summary>
    public static bool IsFinal(this QueueJobState state) =>
        state is QueueJobState.Completed or QueueJobState.Dead or QueueJobState.Cancelled;
}
