using System.Runtime.InteropServices;

namespace QueueCtl.Storage;

/// <summary>Where the queue lives by default, and how its folder and file are created.</summary>
public static class DatabaseLocator
{
    public const string EnvironmentVariable = "QUEUECTL_DATABASE";
    public const string FileName = "queue.db";

    /// <summary>$QUEUECTL_DATABASE when set, otherwise the per-user data folder of the platform.</summary>
    public static string DefaultPath(Func<string, string?>? getEnv = null)
    {
        getEnv ??= Environment.GetEnvironmentVariable;
        var fromEnv = getEnv(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(fromEnv)) return Path.GetFullPath(fromEnv);
        return Path.Combine(DefaultFolder(getEnv), FileName);
    }

    internal static string DefaultFolder(Func<string, string?> getEnv)
    {
        if (OperatingSystem.IsWindows())
            return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "QueueCtl");
        var home = getEnv("HOME") is { Length: > 0 } h ? h : Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        if (OperatingSystem.IsMacOS())
            return Path.Combine(home, "Library", "Application Support", "QueueCtl");
        var xdg = getEnv("XDG_DATA_HOME");
        var dataHome = !string.IsNullOrWhiteSpace(xdg) && Path.IsPathRooted(xdg) ? xdg : Path.Combine(home, ".local", "share");
        return Path.Combine(dataHome, "queuectl");
    }

    /// <summary>
    /// Creates the folder (0700 on Unix) and an empty database file (0600 on Unix) when they are missing. Whoever can
    /// write the queue can run commands as the worker's user, so nobody else gets to read or write it.
    /// </summary>
    public static void EnsureCreated(string path)
    {
        PrivateFiles.CreateFolder(Path.GetDirectoryName(Path.GetFullPath(path))!);
        PrivateFiles.CreateIfMissing(path);
    }
}
