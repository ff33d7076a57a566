namespace QueueCtl;

/// <summary>What a caller asks to enqueue. Null fields take the queue's configured defaults.</summary>
public sealed record JobSpec
{
    public string? Id { get; init; }
    public QueueJobKind Kind { get; init; } = QueueJobKind.Command;
    public string Command { get; init; } = "";
    public string? Arguments { get; init; }
    public string? WorkingDirectory { get; init; }
    public int? MaxRetries { get; init; }
    public TimeSpan? Timeout { get; init; }
    public DateTime? RunAt { get; init; }
    /// <summary>The named queue the job goes to (<see cref="QueueNames.Default"/> when null); names are case-insensitive.</summary>
    public string? Queue { get; init; }
    /// <summary>From <see cref="JobLimits.PriorityMin"/> to <see cref="JobLimits.PriorityMax"/>; higher runs first.</summary>
    public int Priority { get; init; }
    /// <summary>Labels to find the job by (Get-QueueJob -Tag); repeats are dropped, case-insensitively.</summary>
    public IReadOnlyList<string>? Tags { get; init; }

    /// <summary>Refuses a spec that could never run. Throws <see cref="QueueException"/>.</summary>
    public void Validate()
    {
        // An empty script block is a valid no-op; an empty command line is a mistake.
        if (Kind == QueueJobKind.Command && string.IsNullOrWhiteSpace(Command))
            throw new QueueException(QueueErrorCode.InvalidJobSpec, "The job's command is empty.");
        JobLimits.CheckText(Command, "command");
        JobLimits.CheckText(WorkingDirectory, "working directory");
        if (Id is not null) JobLimits.CheckId(Id);
        if (MaxRetries is { } retries) JobLimits.CheckMaxRetries(retries);
        if (Timeout is { } t) JobLimits.CheckTimeout(t);
        JobLimits.CheckPriority(Priority);
        JobLimits.CheckTags(Tags);
        if (Queue is not null) QueueNames.Normalize(Queue);
    }
}
