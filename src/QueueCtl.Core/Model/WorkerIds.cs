namespace QueueCtl;

/// <summary>
/// The rules for worker ids. An id names the worker's files ("&lt;id&gt;.log", "&lt;id&gt;.jobs") in the queue's
/// .workers folder, and a worker kills the processes listed in a dead worker's .jobs file, so an id must never reach
/// outside that folder: letters, digits, '.', '_' and '-' only, not starting with '.'. Letters include non-ASCII ones,
/// because generated ids start with the host name.
/// </summary>
public static class WorkerIds
{
    public const int MaxLength = 100;

    public static bool IsValid(string? id) =>
        id is { Length: > 0 and <= MaxLength } && id[0] != '.' && id.All(c => char.IsLetterOrDigit(c) || c is '.' or '_' or '-');

    /// <summary>Returns <paramref name="id"/>, or throws <see cref="QueueException"/> (InvalidWorkerId).</summary>
    public static string Validate(string? id) => IsValid(id) ? id! : throw new QueueException(QueueErrorCode.InvalidWorkerId,
        $"The worker id '{Printable(id)}' is not valid: use 1 to {MaxLength} letters, digits, '.', '_' or '-', not starting with '.'.");

    private static string Printable(string? id) => new((id ?? "").Select(c => char.IsControl(c) ? '\uFFFD' : c).ToArray());
}
