using Microsoft.Data.Sqlite;

namespace QueueCtl.Storage.Sqlite;

/// <summary>Online backups of a queue (Backup-Queue).</summary>
public static class QueueBackup
{
    /// <summary>
    /// Writes a consistent copy of the queue to <paramref name="destination"/> while workers keep running (VACUUM
    /// INTO reads one snapshot; in WAL mode readers never block writers). The copy is written to a private (0600)
    /// temporary file beside the destination and renamed into place, so a failed backup leaves no partial file and
    /// an existing file is replaced only with <paramref name="overwrite"/>.
    /// </summary>
    public static FileInfo Write(SqliteDriver db, string destination, bool overwrite)
    {
        destination = Path.GetFullPath(destination);
        if (string.Equals(destination, db.Path, OperatingSystem.IsLinux() ? StringComparison.Ordinal : StringComparison.OrdinalIgnoreCase))
            throw new QueueException(QueueErrorCode.DestinationExists, $"'{destination}' is the queue itself; back it up to another file.");
        if (Directory.Exists(destination))
            throw new QueueException(QueueErrorCode.DestinationExists, $"'{destination}' is a folder; name the backup file.");
        if (File.Exists(destination) && !overwrite)
            throw new QueueException(QueueErrorCode.DestinationExists, $"'{destination}' exists already; it was left as it is.");
        var folder = Path.GetDirectoryName(destination)!;
        if (!Directory.Exists(folder))
            throw new QueueException(QueueErrorCode.BackupFailed, $"The folder '{folder}' does not exist.");
        var temp = Path.Combine(folder, $".{Path.GetFileName(destination)}.{Jobs.JobIds.Random(8)}.tmp");
        try
        {
            PrivateFiles.CreateIfMissing(temp);
            db.Read(() => db.Execute("VACUUM INTO $file", ("$file", temp)));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or SqliteException or QueueException)
        {
            TryDelete(temp);
            throw new QueueException(QueueErrorCode.BackupFailed, $"Could not back up '{db.Path}' to '{destination}': {ex.Message}", ex);
        }
        try
        {
            File.Move(temp, destination, overwrite);
        }
        catch (IOException ex) when (!overwrite && File.Exists(destination))
        {
            TryDelete(temp);
            throw new QueueException(QueueErrorCode.DestinationExists, $"'{destination}' was created meanwhile; it was left as it is.", ex);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            TryDelete(temp);
            throw new QueueException(QueueErrorCode.BackupFailed, $"Could not move the backup into place at '{destination}': {ex.Message}", ex);
        }
        PrivateFiles.EnsurePrivateFile(destination);
        return new FileInfo(destination);
    }

    private static void TryDelete(string path)
    {
        try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
