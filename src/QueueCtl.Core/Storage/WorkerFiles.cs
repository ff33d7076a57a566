namespace QueueCtl.Storage;

/// <summary>
/// Files a worker keeps beside the queue, in "&lt;queue name&gt;.workers/": its log, and the processes of the jobs it
/// is running. The latter lets a worker on the same machine kill a dead worker's orphaned job processes before the
/// job runs again, so a job never runs twice at once.
/// </summary>
public static class WorkerFiles
{
    public static string Folder(string databasePath)
    {
        var full = Path.GetFullPath(databasePath);
        return Path.Combine(Path.GetDirectoryName(full)!, Path.GetFileNameWithoutExtension(full) + ".workers");
    }

    /// <summary>The worker's log file. Throws <see cref="QueueException"/> (InvalidWorkerId) for an id that could escape the folder.</summary>
    public static string LogPath(string databasePath, string workerId) =>
        Path.Combine(Folder(databasePath), WorkerIds.Validate(workerId) + ".log");

    /// <summary>
    /// The file holding "pid start" of the supervisor that restarts a detached worker, so Stop-QueueWorker -Force can kill
    /// it first. Validated like <see cref="RunningPath"/>: the pid it names gets killed.
    /// </summary>
    public static string SupervisorPath(string databasePath, string workerId) => RunningPath(databasePath, workerId)[..^".jobs".Length] + ".supervisor";

    /// <summary>
    /// The file listing the worker's job processes. Throws <see cref="QueueException"/> (InvalidWorkerId) for an id that
    /// could escape the folder, and (InsecurePermissions) when others may write the folder: anyone who can plant a
    /// .jobs file there could make a worker kill the processes it lists.
    /// </summary>
    public static string RunningPath(string databasePath, string workerId)
    {
        var path = Path.Combine(Folder(databasePath), WorkerIds.Validate(workerId) + ".jobs");
        PrivateFiles.EnsurePrivateFolder(Folder(databasePath));
        return path;
    }

    /// <summary>Creates the folder private, or makes an existing one private (see <see cref="PrivateFiles.EnsurePrivateFolder"/>).</summary>
    public static void EnsureFolder(string databasePath)
    {
        PrivateFiles.CreateFolder(Folder(databasePath));
        PrivateFiles.EnsurePrivateFolder(Folder(databasePath));
    }
}
