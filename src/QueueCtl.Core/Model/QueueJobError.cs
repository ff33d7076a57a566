namespace QueueCtl;

/// <summary>One failed run of a job, kept in the job's error history.</summary>
public sealed record QueueJobError(DateTime At, int Attempt, int Run, string Error, int? ExitCode);
