
namespace QueueCtl.Storage.Sqlite;

/// <summary>The one place that turns a jobs row into a <see cref="QueueJob"/>.</summary>
internal static class JobRows
{
    public const string Columns =
        "seq, id, kind, command, arguments, working_directory, state, attempts, runs, max_retries, timeout_ms, run_at, " +
        "created_at, updated_at, started_at, finished_at, exit_code, last_error, errors, worker_id, cancel_requested, queue, priority, tags";

    /// <summary>The position of the first column a statement selects after <see cref="Columns"/>.</summary>
    public const int Next = 24;

    public static QueueJob Read(Row r, string database) => new()
    {
        Id = r.GetString(1),
        Kind = Enum.Parse<QueueJobKind>(r.GetString(2)),
        Command = r.GetString(3),
        Arguments = r.IsDBNull(4) ? null : r.GetString(4),
        WorkingDirectory = r.IsDBNull(5) ? null : r.GetString(5),
        State = Enum.Parse<QueueJobState>(r.GetString(6)),
        Attempts = r.GetInt32(7),
        Runs = r.GetInt32(8),
        MaxRetries = r.GetInt32(9),
        Timeout = r.IsDBNull(10) ? null : TimeSpan.FromMilliseconds(r.GetInt64(10)),
        RunAt = UnixTime.FromMs(r.GetInt64(11)),
        CreatedAt = UnixTime.FromMs(r.GetInt64(12)),
        UpdatedAt = UnixTime.FromMs(r.GetInt64(13)),
        StartedAt = r.IsDBNull(14) ? null : UnixTime.FromMs(r.GetInt64(14)),
        FinishedAt = r.IsDBNull(15) ? null : UnixTime.FromMs(r.GetInt64(15)),
        ExitCode = r.IsDBNull(16) ? null : r.GetInt32(16),
        LastError = r.IsDBNull(17) ? null : r.GetString(17),
        Errors = r.IsDBNull(18) ? Array.Empty<QueueJobError>() : StoredRows.Errors(r.GetString(18)),
        WorkerId = r.IsDBNull(19) ? null : r.GetString(19),
        CancelRequested = r.GetInt64(20) != 0,
        Queue = r.GetString(21),
        Priority = r.GetInt32(22),
        Tags = r.IsDBNull(23) ? Array.Empty<string>() : Jobs.JobTags.FromJson(r.GetString(23)),
        Database = database,
    };

    public static long Seq(Row r) => r.GetInt64(0);
}
