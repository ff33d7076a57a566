using System.Text.RegularExpressions;

namespace QueueCtl.Storage;

/// <summary>Where the queue lives by default, and how its folder and file are created.</summary>
public static partial class DatabaseLocator
{
    public const string EnvironmentVariable = "QUEUECTL_DATABASE";
    public const string FileName = "queue.db";

    /// <summary>
    /// $QUEUECTL_DATABASE when set (a server address as it is, a path made full), otherwise the queue file in the
    /// per-user data folder of the platform.
    /// </summary>
    public static string DefaultPath(Func<string, string?>? getEnv = null)
    {
        getEnv ??= Environment.GetEnvironmentVariable;
        var fromEnv = getEnv(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(fromEnv))
            return QueueAddress.IsServer(fromEnv) ? fromEnv : Path.GetFullPath(RefuseAddress(fromEnv));
        return Path.Combine(DefaultFolder(getEnv), FileName);
    }

    /// <summary>
    /// Returns <paramref name="path"/>, or refuses an address of an engine QueueCtl does not have, such as
    /// mysql://user:pw@host/db (a scheme of two or more letters, so C://x stays a Windows path): taken as a path it
    /// would silently become a folder tree under the current directory, password and all. The message masks any
    /// password. PostgreSQL addresses pass.
    /// </summary>
    public static string RefuseAddress(string path)
    {
        if (QueueAddress.IsServer(path)) return path;
        var match = Address().Match(path);
        if (!match.Success) return path;
        throw new QueueException(QueueErrorCode.UnsupportedDatabaseAddress,
            $"'{Mask(path)}' is an address ({match.Groups[1].Value}://) of no engine QueueCtl has: give the path of an SQLite queue file or a postgres:// address.");
    }

    /// <summary>The address with its password masked (see <see cref="QueueAddress.Mask"/>).</summary>
    public static string Mask(string address) => QueueAddress.Mask(address);

    /// <summary>
    /// The local stand-in path of a queue kept on a server (see <see cref="IQueueDriver.LocalPath"/>): one name per
    /// server, database and schema in this user's data folder, so the worker files of two queues never mix.
    /// </summary>
    public static string ServerQueuePath(string identity, Func<string, string?>? getEnv = null)
    {
        var hash = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(identity)))[..16].ToLowerInvariant();
        return Path.Combine(DefaultFolder(getEnv ?? Environment.GetEnvironmentVariable), "servers", hash + ".queue");
    }

    [GeneratedRegex(@"^\s*([A-Za-z][A-Za-z0-9+.\-]+)://")]
    private static partial Regex Address();

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
