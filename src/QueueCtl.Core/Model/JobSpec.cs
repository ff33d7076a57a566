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

    /// <summary>Refuses a spec that could never run. Throws <see cref="QueueException"/>.</summary>
    public void Validate()
    {
        // An empty script block is a valid no-op; an empty command line is a mistake.
        if (Kind == QueueJobKind.Command && string.IsNullOrWhiteSpace(Command))
            throw new QueueException(QueueErrorCode.InvalidJobSpec, "The job's command is empty.");
        if (Id is not null)
        {
            if (Id.Length == 0 || Id.Length > 200 || Id.Any(char.IsControl) || Id.Trim() != Id)
                throw new QueueException(QueueErrorCode.InvalidJobSpec,
                    $"The job id '{Id}' is not valid: use 1 to 200 printable characters without leading or trailing spaces.");
            if (Id.IndexOfAny(['*', '?', '[', ']']) >= 0)
                throw new QueueException(QueueErrorCode.InvalidJobSpec,
                    $"The job id '{Id}' contains a wildcard character (*, ?, [ or ]); ids must be matchable exactly.");
        }
        if (MaxRetries < 0)
            throw new QueueException(QueueErrorCode.InvalidJobSpec, $"MaxRetries must be 0 or more, not {MaxRetries}.");
        if (Timeout is { } t && t <= TimeSpan.Zero)
            throw new QueueException(QueueErrorCode.InvalidJobSpec, $"Timeout must be positive, not {t}.");
    }
}
