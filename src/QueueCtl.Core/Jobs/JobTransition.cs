namespace QueueCtl.Jobs;

/// <summary>The state a finished run moves its job to. Pure: the clock and policy are passed in.</summary>
public sealed record JobTransition(QueueJobState State, DateTime? RetryAt, bool IsFinal)
{
    /// <param name="attempts">The job's attempt count including the run that just ended.</param>
    public static JobTransition After(RunResultKind result, int attempts, int maxRetries, DateTime now, RetryPolicy policy) =>
        result switch
        {
            RunResultKind.Succeeded => new(QueueJobState.Completed, null, true),
            RunResultKind.Cancelled => new(QueueJobState.Cancelled, null, true),
            _ when attempts > maxRetries => new(QueueJobState.Dead, null, true),
            _ => new(QueueJobState.Failed, now + policy.DelayAfter(attempts), false),
        };
}
