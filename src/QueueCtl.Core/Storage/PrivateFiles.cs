namespace QueueCtl.Storage;

/// <summary>Files and folders only their owner may read or write (0600 and 0700 on Unix).</summary>
public static class PrivateFiles
{
    private const UnixFileMode FileMode600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode FolderMode700 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    public static void CreateFolder(string path)
    {
        if (Directory.Exists(path)) return;
        if (OperatingSystem.IsWindows()) Directory.CreateDirectory(path);
        else Directory.CreateDirectory(path, FolderMode700);
    }

    /// <summary>Opens a file for appending, creating it private when it is missing.</summary>
    public static FileStream OpenAppend(string path)
    {
        var options = new FileStreamOptions { Mode = FileMode.Append, Access = FileAccess.Write, Share = FileShare.ReadWrite | FileShare.Delete };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = FileMode600;
        return new FileStream(path, options);
    }

    /// <summary>Opens a private file for writing from its start, emptied.</summary>
    public static FileStream OpenTruncated(string path)
    {
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, Share = FileShare.ReadWrite | FileShare.Delete };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = FileMode600;
        return new FileStream(path, options);
    }

    /// <summary>Creates an empty private file unless one exists.</summary>
    public static void CreateIfMissing(string path)
    {
        if (File.Exists(path)) return;
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = FileMode600;
        try
        {
            using var _ = new FileStream(path, options);
        }
        catch (IOException) when (File.Exists(path))
        {
            // Another process created it first: fine.
        }
    }
}
