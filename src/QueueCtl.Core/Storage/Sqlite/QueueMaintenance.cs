using Microsoft.Data.Sqlite;
using QueueCtl.Configuration;

namespace QueueCtl.Storage.Sqlite;

/// <summary>
/// Checks a queue file and repairs what is safe to recompute. The check opens the file on a
/// connection of its own without migrating or creating anything, and reads everything in one read transaction, so
/// counters and the rows they count come from the same snapshot while workers keep writing.
/// </summary>
public static class QueueMaintenance
{
    private const int MaxIntegrityErrors = 100;
    private static readonly string[] States = Enum.GetNames<QueueJobState>();

    /// <summary>Checks the queue at <paramref name="path"/>. Throws <see cref="QueueException"/> when there is no such file.</summary>
    public static QueueHealthReport Check(string path)
    {
        path = Path.GetFullPath(DatabaseLocator.RefuseAddress(path));
        if (!File.Exists(path))
            throw new QueueException(QueueErrorCode.DatabaseUnavailable, $"There is no queue file at '{path}'.");
        using var connection = OpenExisting(path);
        return Check(connection, path, Array.Empty<string>());
    }

    /// <summary>
    /// Recomputes the per-state counters and removes output rows whose job is gone, in one write transaction, then
    /// checks again. Nothing is changed in a file whose integrity check fails: only a restore mends that.
    /// </summary>
    public static QueueHealthReport Repair(string path)
    {
        var before = Check(path);
        if (before.Verdict == QueueHealth.Corrupt || before.SchemaVersion != SqliteSchema.CurrentVersion) return before;
        using var connection = OpenExisting(path);
        var repaired = new List<string>();
        Run(connection, () =>
        {
            Exec(connection, "BEGIN IMMEDIATE");
            try
            {
                var mismatches = Mismatches(connection);
                if (mismatches.Count > 0)
                {
                    Exec(connection, "UPDATE job_counts SET n = (SELECT count(*) FROM jobs WHERE jobs.state = job_counts.state)");
                    repaired.Add($"Recomputed the job counters ({string.Join("; ", mismatches)}).");
                }
                var orphans = Exec(connection, "DELETE FROM job_output WHERE job_seq NOT IN (SELECT seq FROM jobs)");
                if (orphans > 0) repaired.Add($"Removed {orphans} output row(s) whose job no longer exists.");
                Exec(connection, "COMMIT");
            }
            catch
            {
                try { Exec(connection, "ROLLBACK"); } catch (SqliteException) { /* already rolled back */ }
                throw;
            }
        }, path);
        return Check(connection, path, repaired);
    }

    private static QueueHealthReport Check(SqliteConnection connection, string path, IReadOnlyList<string> repaired)
    {
        var problems = new List<string>();
        long? version = null;
        var integrity = new List<string>();
        var mismatches = new List<QueueCountMismatch>();
        long orphanedOutputs = 0, orphanedLeases = 0;
        try
        {
            Exec(connection, "BEGIN");
            try
            {
                version = Scalar(connection, "PRAGMA user_version");
                integrity.AddRange(Strings(connection, $"PRAGMA integrity_check({MaxIntegrityErrors})").Where(r => r != "ok"));
                if (integrity.Count == 0 && version == SqliteSchema.CurrentVersion)
                {
                    mismatches.AddRange(Mismatches(connection));
                    orphanedOutputs = Scalar(connection, "SELECT count(*) FROM job_output WHERE job_seq NOT IN (SELECT seq FROM jobs)");
                    orphanedLeases = Scalar(connection,
                        "SELECT count(*) FROM jobs WHERE state = 'Processing' AND worker_id NOT IN (SELECT id FROM workers)");
                    var stored = Pairs(connection, "SELECT name, value FROM config");
                    foreach (var (name, value) in stored)
                    {
                        var setting = ConfigSettings.All.FirstOrDefault(s => string.Equals(s.Name, name, StringComparison.OrdinalIgnoreCase));
                        if (setting is null) problems.Add($"The config table holds an unknown setting '{name}'.");
                        else if (setting.Check(value) is { } problem) problems.Add(problem.ToException().Message);
                    }
                }
            }
            finally
            {
                Exec(connection, "ROLLBACK");
            }
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode is 11 or 26) // SQLITE_CORRUPT, SQLITE_NOTADB
        {
            integrity.Add(ex.Message);
        }
        catch (SqliteException ex)
        {
            throw new QueueException(QueueErrorCode.DatabaseUnavailable, $"The queue database '{path}' cannot be checked: {ex.Message}", ex);
        }
        if (version is { } v && v != SqliteSchema.CurrentVersion && integrity.Count == 0)
            problems.Insert(0, v == 0
                ? "The file holds no QueueCtl schema (schema version 0)."
                : $"The schema version is {v}; this QueueCtl uses {SqliteSchema.CurrentVersion} (opening the queue with a matching release migrates it).");
        problems.InsertRange(0, integrity.Select(e => $"Integrity check: {e}"));
        problems.AddRange(mismatches.Select(m => $"Job counter out of step: {m} (Test-Queue -Repair recomputes it)."));
        if (orphanedOutputs > 0) problems.Add($"{orphanedOutputs} output row(s) belong to no job (Test-Queue -Repair removes them).");
        if (orphanedLeases > 0) problems.Add($"{orphanedLeases} Processing job(s) name a worker that is not registered; they run again once their lease expires.");
        return new QueueHealthReport
        {
            Database = path,
            Verdict = integrity.Count > 0 ? QueueHealth.Corrupt : problems.Count > 0 ? QueueHealth.Inconsistent : QueueHealth.OK,
            SchemaVersion = version,
            ExpectedSchemaVersion = SqliteSchema.CurrentVersion,
            IntegrityErrors = integrity,
            CounterMismatches = mismatches,
            OrphanedOutputs = orphanedOutputs,
            OrphanedLeases = orphanedLeases,
            Problems = problems,
            Repaired = repaired,
        };
    }

    private static List<QueueCountMismatch> Mismatches(SqliteConnection connection)
    {
        var kept = Pairs(connection, "SELECT state, n FROM job_counts").ToDictionary(p => p.Item1, p => long.Parse(p.Item2, System.Globalization.CultureInfo.InvariantCulture));
        var actual = Pairs(connection, "SELECT state, count(*) FROM jobs GROUP BY state").ToDictionary(p => p.Item1, p => long.Parse(p.Item2, System.Globalization.CultureInfo.InvariantCulture));
        return States
            .Select(s => new QueueCountMismatch(Enum.Parse<QueueJobState>(s), kept.GetValueOrDefault(s), actual.GetValueOrDefault(s)))
            .Where(m => m.Kept != m.Actual)
            .ToList();
    }

    private static SqliteConnection OpenExisting(string path)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWrite, // never creates a file; only Repair writes
            Pooling = false,
            DefaultTimeout = 60,
        }.ToString());
        try
        {
            connection.Open();
            Exec(connection, "PRAGMA busy_timeout = 60000");
            return connection;
        }
        catch (SqliteException ex)
        {
            connection.Dispose();
            throw new QueueException(QueueErrorCode.DatabaseUnavailable, $"Cannot open the queue database '{path}': {ex.Message}", ex);
        }
    }

    private static void Run(SqliteConnection connection, Action work, string path)
    {
        try
        {
            work();
        }
        catch (SqliteException ex)
        {
            throw new QueueException(QueueErrorCode.DatabaseUnavailable, $"The queue database '{path}' could not be repaired: {ex.Message}", ex);
        }
    }

    private static int Exec(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteNonQuery();
    }

    private static long Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static List<string> Strings(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var rows = new List<string>();
        while (reader.Read()) rows.Add(reader.GetValue(0)?.ToString() ?? "");
        return rows;
    }

    private static List<(string, string)> Pairs(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var rows = new List<(string, string)>();
        while (reader.Read()) rows.Add((reader.GetValue(0)?.ToString() ?? "", Convert.ToString(reader.GetValue(1), System.Globalization.CultureInfo.InvariantCulture) ?? ""));
        return rows;
    }
}
