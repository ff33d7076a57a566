namespace QueueCtl;

/// <summary>One failed run of a job, kept in the job's error history. <see cref="At"/> is UTC.</summary>
public sealed record QueueJobError(DateTime At, int Attempt, int Run, string Error, int? ExitCode)
{
    public override string ToString() => $"#{Attempt} {At.ToLocalTime():yyyy-MM-dd HH:mm:ss}: {Error}";
}
