namespace QueueCtl.Storage;

/// <summary>
/// Files and folders only their owner may read or write (0600 and 0700 on Unix). Whoever can write the queue or the
/// workers' folder can run commands as the worker's user, and job output may hold secrets; so, like ssh with
/// StrictModes, an existing file or folder others may use is not trusted as is: QueueCtl makes it private (chmod, the
/// owner unchanged), and refuses it when that fails and others could write it.
/// </summary>
public static class PrivateFiles
{
    private const UnixFileMode FileMode600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode FolderMode700 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode OthersAny = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;
    private const UnixFileMode OthersWrite = UnixFileMode.GroupWrite | UnixFileMode.OtherWrite;

    /// <summary>Makes an existing file 0600; see the class remarks. Missing files are left alone.</summary>
    public static void EnsurePrivateFile(string path) => EnsurePrivate(path, FileMode600, isFolder: false);

    /// <summary>Makes an existing folder 0700; see the class remarks. A missing folder is left alone.</summary>
    public static void EnsurePrivateFolder(string path) => EnsurePrivate(path, FolderMode700, isFolder: true);

    private static void EnsurePrivate(string path, UnixFileMode wanted, bool isFolder)
    {
        if (OperatingSystem.IsWindows()) return;
        UnixFileMode mode;
        try
        {
            if (isFolder ? !Directory.Exists(path) : !File.Exists(path)) return;
            mode = File.GetUnixFileMode(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return; // gone meanwhile, or not ours to inspect: opening it reports the real problem
        }
        if ((mode & OthersAny) == 0) return;
        try
        {
            File.SetUnixFileMode(path, (mode & ~OthersAny) | wanted);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            if ((mode & OthersWrite) != 0)
                throw new QueueException(QueueErrorCode.InsecurePermissions,
                    $"'{path}' can be written by other users (mode {Octal(mode)}) and could not be made private: {ex.Message}", ex);
        }
    }

    private static string Octal(UnixFileMode mode) => Convert.ToString((int)mode & 0x1FF, 8).PadLeft(4, '0');

    /// <summary>Creates the folder (0700 on Unix) unless it exists; an existing folder is left as it is.</summary>
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
