using System.Globalization;
using QueueCtl.Execution;
using QueueCtl.Storage;

namespace QueueCtl.Worker;

/// <summary>
/// Where the launcher of a detached worker notes the supervisor shell that restarts it ("pid start-ms" in
/// &lt;id&gt;.supervisor beside the worker's log), so <see cref="WorkerKill"/> can kill it before the worker.
/// </summary>
public static class SupervisorFile
{
    public static void Write(string databasePath, string workerId, int pid, DateTime startedAtUtc)
    {
        var path = WorkerFiles.SupervisorPath(databasePath, workerId);
        using var file = PrivateFiles.OpenTruncated(path);
        file.Write(System.Text.Encoding.ASCII.GetBytes(
            $"{pid.ToString(CultureInfo.InvariantCulture)} {new DateTimeOffset(startedAtUtc).ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture)}\n"));
    }

    /// <summary>The supervisor's pid when it still runs (same start time), else null.</summary>
    public static int? LivePid(string databasePath, string workerId)
    {
        var path = WorkerFiles.SupervisorPath(databasePath, workerId);
        string[] parts;
        try { parts = File.Exists(path) ? File.ReadAllText(path).Trim().Split(' ') : Array.Empty<string>(); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return null; }
        if (parts.Length != 2 || !int.TryParse(parts[0], CultureInfo.InvariantCulture, out var pid)
            || !long.TryParse(parts[1], CultureInfo.InvariantCulture, out var started)) return null;
        return ProcessTree.IsAlive(pid, started) ? pid : null;
    }

    public static void Delete(string databasePath, string workerId)
    {
        try { File.Delete(WorkerFiles.SupervisorPath(databasePath, workerId)); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { }
    }
}
