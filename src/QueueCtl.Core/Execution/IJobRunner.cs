using QueueCtl.Jobs;

namespace QueueCtl.Execution;

/// <summary>Everything a runner needs to run one claimed job.</summary>
public sealed record JobExecution(QueueJob Job, TimeSpan Timeout, int OutputLimit, string WorkerId)
{
    /// <summary>Where a runner records the processes it starts, so they can be killed if the worker dies.</summary>
    public RunningProcesses? Processes { get; init; }

    /// <summary>Marks every process of this run (see <see cref="Execution.RunToken"/>).</summary>
    public string RunToken { get; init; } = Execution.RunToken.New();

    /// <summary>The variables every run sees, so a command can tell which job and attempt it is.</summary>
    public IReadOnlyDictionary<string, string> Environment => new Dictionary<string, string>
    {
        ["QUEUECTL_JOB_ID"] = Job.Id,
        ["QUEUECTL_JOB_ATTEMPT"] = Job.Attempts.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["QUEUECTL_JOB_RUN"] = Job.Runs.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["QUEUECTL_WORKER_ID"] = WorkerId,
        ["QUEUECTL_DATABASE"] = Job.Database ?? "",
    };
}

/// <summary>
/// Runs one kind of job. A runner enforces the execution's timeout itself (a timeout is a failure) and stops the run
/// when <c>cancel</c> fires; the caller decides what a cancelled run means.
/// </summary>
public interface IJobRunner
{
    Task<RunOutcome> RunAsync(JobExecution execution, CancellationToken cancel);

    /// <summary>
    /// Gets ready to run <paramref name="slots"/> jobs at once before the worker claims any, so a job is not kept
    /// waiting while a runner sets itself up. Most runners have nothing to do.
    /// </summary>
    void Warm(int slots) { }
}
