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

    public static string LogPath(string databasePath, string workerId) => Path.Combine(Folder(databasePath), workerId + ".log");

    public static string RunningPath(string databasePath, string workerId) => Path.Combine(Folder(databasePath), workerId + ".jobs");

    public static void EnsureFolder(string databasePath) => PrivateFiles.CreateFolder(Folder(databasePath));
}
