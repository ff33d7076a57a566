using System.Text.Json;
using QueueCtl.Configuration;

namespace QueueCtl.Storage;

/// <summary>
/// What every driver builds the same way from what it stored: a job's error history, the config entries, the status
/// and the refusals of user-side changes. A driver reads its rows; these turn them into the engine's objects.
/// </summary>
public static class StoredRows
{
    /// <summary>A job's error history, stored as a JSON array of {at, attempt, run, error, exitCode}.</summary>
    public static IReadOnlyList<QueueJobError> Errors(string json)
    {
        var list = new List<QueueJobError>();
        using var doc = JsonDocument.Parse(json);
        foreach (var e in doc.RootElement.EnumerateArray())
        {
            list.Add(new QueueJobError(
                UnixTime.FromMs(e.GetProperty("at").GetInt64()),
                e.GetProperty("attempt").GetInt32(),
                e.TryGetProperty("run", out var run) ? run.GetInt32() : 0,
                e.GetProperty("error").GetString() ?? "",
                e.TryGetProperty("exitCode", out var code) && code.ValueKind == JsonValueKind.Number ? code.GetInt32() : null));
        }
        return list;
    }

    /// <summary>Every setting, with its stored value (names case-insensitive) or its default.</summary>
    public static IReadOnlyList<QueueConfigEntry> ConfigEntries(IEnumerable<(string Name, string Value)> stored)
    {
        var byName = stored.ToDictionary(x => x.Name, x => x.Value, StringComparer.OrdinalIgnoreCase);
        return ConfigSettings.All.Select(s => ConfigEntry(s, byName.TryGetValue(s.Name, out var v) ? v : null)).ToList();
    }

    /// <summary>One setting's entry; a stored value that is not valid shows as such, with the default in force.</summary>
    public static QueueConfigEntry ConfigEntry(ConfigSetting s, string? stored) =>
        stored is not null && s.Check(stored) is { } problem
            ? new(s.Name, stored, s.ToTyped(s.DefaultValue), false, s.Description, problem.Reason)
            : new(s.Name, s.ToTyped(stored is null ? s.DefaultValue : s.Normalize(stored)), s.ToTyped(s.DefaultValue), stored is null, s.Description);

    /// <summary>The status from per-state counts (by state name), the live workers and the oldest pending job's creation.</summary>
    public static QueueStatus Status(IReadOnlyDictionary<string, long> counts, long workers, long? oldestPendingCreatedMs, long nowMs,
        string database)
    {
        long Count(QueueJobState s) => counts.TryGetValue(s.ToString(), out var n) ? n : 0;
        return new QueueStatus
        {
            Pending = Count(QueueJobState.Pending), Processing = Count(QueueJobState.Processing),
            Completed = Count(QueueJobState.Completed), Failed = Count(QueueJobState.Failed),
            Dead = Count(QueueJobState.Dead), Cancelled = Count(QueueJobState.Cancelled),
            Workers = (int)workers,
            OldestPendingAge = oldestPendingCreatedMs is { } o ? TimeSpan.FromMilliseconds(Math.Max(0, nowMs - o)) : null,
            Database = database,
        };
    }

    public static QueueException RemoveRunning(QueueJob job) => new(QueueErrorCode.InvalidJobState,
        $"Job '{job.Id}' is Processing on worker '{job.WorkerId}'; stop it first with Stop-QueueJob, or use -Force (the worker's result will then be discarded).");

    public static QueueException RetryNotDead(QueueJob job) => new(QueueErrorCode.InvalidJobState,
        $"Job '{job.Id}' is {job.State}, not Dead; only jobs in the dead letter queue can be retried.");

    public static QueueException CancelFinal(QueueJob job) => new(QueueErrorCode.InvalidJobState,
        $"Job '{job.Id}' is already {job.State}; only Pending, Failed and Processing jobs can be stopped.");
}
