using QueueCtl.Jobs;

namespace QueueCtl.Storage;

/// <summary>One run's captured output.</summary>
public sealed record JobRunOutput(string JobId, int Run, CapturedOutput Output);

/// <summary>Reads what each run of a job printed (the worker stores it with the run's finish).</summary>
public interface IOutputStore
{
    /// <summary>The captured output of every run of the job, oldest run first. Runs that printed nothing are absent.</summary>
    IReadOnlyList<JobRunOutput> Get(string jobId);
}
